# Quality against output stride, read from the stored example sweeps: the digits, whose
# label is the whole image, against thin-structure segmentation, whose label is every
# pixel. Page 6 of the guide runs this file while the site builds, and `make pictures`
# (docs/pictures.sh) writes its output to docs/pictures/quality_vs_output_stride.svg.
from stridekit.experiments import Results
from stridekit.viz import Point, scatter_svg

STORES = "docs/guide/results"
DIGITS, LINES = "mnist-strides", "seg-output-stride"
curves = [  # store, metric, the trials it plots (by their factors), the curve's name
    (DIGITS, "accuracy", {"model.op": "conv"}, "digits: accuracy, strided conv"),
    (DIGITS, "accuracy", {"model.op": "blur_pool"}, "digits: accuracy, blur-pool"),
    (LINES, "miou", {"model.decoder": "bilinear"}, "lines and dots: mIoU"),
    (LINES, "boundary_f1", {"model.decoder": "bilinear"}, "lines and dots: boundary F1"),
]
points = []
for store, metric, chosen, name in curves:
    for configuration in Results.load(f"{STORES}/{store}.db").configurations():
        if all(configuration.factors[key] == value for key, value in chosen.items()):
            stride, score = configuration.mean("output_stride"), configuration.mean(metric)
            label = f"{name} at output stride {stride:g}: {score:.3f}"
            points.append(Point(stride, score, name, label, configuration.std(metric)))
print(
    scatter_svg(
        points,
        title="What the output stride costs, by task (stored example sweeps)",
        x_label="output stride of the encoder",
        y_label="score on the test set",
        log_x=True,
        connect=True,
        name="tasks",
    )
)
