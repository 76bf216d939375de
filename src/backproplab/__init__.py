"""backproplab: how neural networks learn, end to end.

- :mod:`backproplab.scratch` -- backpropagation written by hand in NumPy (never imports torch).
- :mod:`backproplab.datasets` -- toy 2-D data sets, tabular sets and MNIST.
- :mod:`backproplab.dcn` -- the deep convolutional network on MNIST in PyTorch.
- :mod:`backproplab.monitoring` -- TensorBoard summaries shared by both engines.
- :mod:`backproplab.report` -- the HTML report that runs every experiment.
"""

__version__ = "0.1.0"
