"""
Colouring a grayscale photo
===========================

:class:`fastnn.colorize.Colorizer` learns a pixel's chroma (a* and b* of CIE L*a*b*) from
the lightness L* around it, with the book's sigmoid network. Here a small colorizer trains
on three photos that ship with scikit-image and scikit-learn and colours a fourth one it
never saw, scikit-image's ``coffee``; the result keeps the photo's lightness exactly.
The full-size version is ``fastnn demo colorize`` (see the user guide's colorization page).
"""
import matplotlib.pyplot as plt
import numpy as np
from skimage.color import rgb2lab

from fastnn.colorize import Colorizer, bundled_photos, evaluate, format_table, lab_to_rgb

photos = bundled_photos()
train = [photos[name] for name in ("chelsea", "china", "flower")]
model = Colorizer(samples_per_image=10000, epochs=5, random_state=0).fit(train)
print(f"{model.n_samples_} training pixels x {model.n_features_in_} features, "
      f"network {model.network_.sizes}, trained in {model.fit_seconds_:.1f} s")

# %%
# ``predict`` takes a grayscale image (or an RGB one, whose lightness it uses) and returns
# an RGB image in [0, 1] with the input's L* and the predicted a*, b*. The grayscale input
# here is the photo's own L* with a* = b* = 0.
coffee = photos["coffee"]
lightness = rgb2lab(coffee)[..., 0]
gray = lab_to_rgb(lightness, np.zeros(lightness.shape + (2,)))[..., 0]
coloured = model.predict(gray)
lightness_gap = np.abs(rgb2lab(coloured)[..., 0] - lightness).max()
print(f"largest L* difference to the original: {lightness_gap:.1e}")

fig, axes = plt.subplots(1, 3, figsize=(9, 2.6), layout="constrained")
for ax, image, title in zip(axes, (gray, coloured, coffee), ("grayscale input", "fastnn", "original")):
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)  # the colormap applies to the 2-D gray only
    ax.set_title(title)
    ax.set_axis_off()
plt.show()

# %%
# :func:`~fastnn.colorize.evaluate` compares the result with the original, next to two
# baselines that keep the lightness too: no colour at all (``grayscale``) and the training
# pixels' mean chroma. Each cell is the PSNR of the RGB image (higher is better) and the
# mean absolute a*b* error (lower is better). Six training photos, more pixels and more
# epochs (the defaults) do better; so does training on photos like the ones to colour.
print(format_table(evaluate(model, [coffee], names=["coffee"])))
