"""Writing runs: file layout, atomic writes, resume, and the executors that run scenes."""
