"""Independent reference implementations that xadv's own code is tested against."""
