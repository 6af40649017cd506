"""itdd — intrathecal targeted drug delivery, in software.

For simulation, training, testing and research. NOT A MEDICAL DEVICE: never use it to make
decisions about a real patient or to program a real pump.
"""

__version__ = "0.1.0"

DISCLAIMER = (
    "itdd is for simulation, training, testing and research. It is not a medical device: "
    "do not use it to make decisions about a real patient or to program a real pump."
)
