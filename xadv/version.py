"""The package version, in its own core module so that no submodule has to import the `xadv` package
itself (whose lazy API would otherwise close an import cycle through every layer)."""

__version__ = "0.1.0"
