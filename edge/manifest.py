"""Which firmware modules each role needs (read by `machimori edge build`); main.py always goes."""

COMMON = ["mm_config.py", "battery.py", "advertiser.py"]
ROLES = {
    "heat": ["heat_main.py", "heat_node.py", "heat_sampler.py", "sht4x.py", "mlx90614.py",
             "bh1750.py", "ds18b20.py", "bthome.py", "bthome_table.py", "ccm.py", "persist.py"],
    "tag": ["tag_main.py", "tag_node.py", "eid.py", "lis3dh.py", "fall.py"],
    "meter": ["meter_main.py", "meter_bridge.py", "pulse_counter.py", "pulse_line.py",
              "persist.py"],
    "actuator": ["actuator_main.py", "actuator_node.py", "actuator_line.py", "pulse_line.py",
                 "sht4x.py"],
}
