__version__ = "0.45.0"  # stands in for an old bitsandbytes without CPU 4-bit
