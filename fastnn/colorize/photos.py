"""The colour photos shipped with scikit-image and scikit-learn, split for training and testing."""

TRAIN_PHOTOS = ("chelsea", "rocket", "motorcycle_left", "motorcycle_right", "china", "flower")

TEST_PHOTOS = ("astronaut", "coffee")


def bundled_photos():
    """The colour photos shipped with scikit-image and scikit-learn (no download).

    Returns
    -------
    dict
        Name -> uint8 RGB array: scikit-image's ``astronaut``, ``chelsea``,
        ``coffee``, ``rocket``, ``motorcycle_left`` and ``motorcycle_right``
        (the two views of ``stereo_motorcycle``), scikit-learn's ``china``
        and ``flower`` (``load_sample_images``).

    Examples
    --------
    >>> photos = bundled_photos()
    >>> photos["astronaut"].shape
    (512, 512, 3)
    """
    from skimage import data
    from sklearn.datasets import load_sample_images

    left, right, _ = data.stereo_motorcycle()
    china, flower = load_sample_images().images
    return {"astronaut": data.astronaut(), "chelsea": data.chelsea(), "coffee": data.coffee(),
            "rocket": data.rocket(), "motorcycle_left": left, "motorcycle_right": right,
            "china": china, "flower": flower}
