"""A sphinx-gallery image scraper for figures that pyplot does not manage.

:func:`fastnn.plot.learning_curves` draws on a plain :class:`matplotlib.figure.Figure`
(Agg canvas, no pyplot state) and returns it.  sphinx-gallery's own scraper only sees
pyplot's figures, so this one also renders every such Figure that a gallery block left in
a variable of the example.
"""
from matplotlib.figure import Figure
from sphinx_gallery.scrapers import figure_rst


def _new_figures(block_vars):
    """Figures held by the example's variables that no earlier block rendered.

    Figures made by pyplot are left to sphinx-gallery's matplotlib scraper: they carry a
    ``number`` even after that scraper closed them (their manager is then None too).
    """
    seen = block_vars.setdefault("fastnn_rendered_figures", set())
    found = []
    for value in list(block_vars["example_globals"].values()):
        if (isinstance(value, Figure) and value.canvas.manager is None and not hasattr(value, "number")
                and id(value) not in seen):
            seen.add(id(value))
            found.append(value)
    return found


def scraper(block, block_vars, gallery_conf):
    """Save the new non-pyplot figures as PNGs and return their reST."""
    paths = []
    for fig, path in zip(_new_figures(block_vars), block_vars["image_path_iterator"]):
        fig.savefig(path, dpi=100)
        paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])


def _get_sg_image_scraper():
    """The hook sphinx-gallery calls when the scraper is named by its module ("figures_in_globals")."""
    return scraper
