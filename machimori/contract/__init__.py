"""The contracts every side shares: MQTT topics and payload schemas, BLE and serial formats.

One definition each; the gateway, the collector, the sim and the firmware build import them.
"""
