"""The MNIST network (the course's DCN), whichever engine trains it: its settings, names and
monitored tags (:mod:`.config`, :mod:`.choices`, :mod:`.contract`), what an engine supplies
(:mod:`.engine`) and the one run loop (:mod:`.run`). Never imports an engine until a run asks for it.

    from backproplab.mnist_net.config import TrainConfig
    from backproplab.mnist_net.run import train
    train(TrainConfig(engine="numpy", schedule="cosine", steps=100))
"""
