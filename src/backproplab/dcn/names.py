"""The names a user can choose, without importing torch (the CLI builds its help from these).

:mod:`backproplab.dcn.model` and :mod:`backproplab.dcn.optim` hold the registries themselves, keyed
by exactly these names (a test checks that they agree).
"""

ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu", "maxout")
INIT_NAMES = (
    "truncated_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_normal",
    "he_uniform",
    "orthogonal",
    "lecun_normal",
)
#: Optimizer name -> default learning rate (see :mod:`backproplab.dcn.optim` for why).
OPTIMIZER_DEFAULT_LRS = {
    "sgd": 1e-2,
    "momentum": 1e-2,
    "nesterov": 1e-2,
    "adagrad": 3e-3,
    "adadelta": 1.0,
    "rmsprop": 1e-4,
    "adam": 1e-4,
    "adamw": 1e-4,
}
PRECISIONS = ("fp32", "bf16")

#: The tensors summarised every monitoring interval, by TensorBoard name (a contract shared by both
#: engines: the report and the tests rely on these tags).
MONITORED = (
    "conv1/weights",
    "conv1/biases",
    "conv1/net_input",
    "conv1/activation",
    "conv1/pooled",
    "conv2/weights",
    "conv2/biases",
    "conv2/net_input",
    "conv2/activation",
    "conv2/pooled",
    "fc1/weights",
    "fc1/biases",
    "fc1/net_input",
    "fc1/activation",
    "fc2/weights",
    "fc2/biases",
    "fc2/net_input",
)
