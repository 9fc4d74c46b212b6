"""Object detectors (LiteRT cpu / Edge TPU) in their own processes, shared by every camera.

Import the module you need: ``detect.client`` in camera processes (no model runtime),
``detect.process`` in the main process, ``detect.tflite`` where a model runs.
"""
