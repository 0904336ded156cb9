"""The heat node's sampling loop: n rounds of air, surface and light, one globe reading.

The loop only moves small integers into preallocated state (sums of raw words), so it runs with
the heap locked; converting to physical units happens once, after it, in integer arithmetic.
"""

import bh1750
import ds18b20
import mlx90614
import sht4x


class HeatSampler:
    def __init__(self, sht, mlx=None, light=None, globe=None):
        self.sht = sht
        self.mlx = mlx
        self.light = light
        self.globe = globe
        self.t_sum = self.rh_sum = self.n_air = 0
        self.s_sum = self.n_surface = 0
        self.l_sum = self.n_light = 0
        self.l_saturated = False
        self.g_raw = 0
        self.n_globe = 0
        self.errors = 0

    def sample(self, n, gap_ms, sleep_ms):
        """Take n rounds gap_ms apart (gap_ms >= the slowest chip: BH1750, 180 ms)."""
        self.t_sum = self.rh_sum = self.n_air = 0
        self.s_sum = self.n_surface = self.l_sum = self.n_light = self.n_globe = 0
        self.l_saturated = False
        self.errors = 0
        waited = 0
        g = self.globe
        globe = g is not None and g.convert()
        for _ in range(n):
            try:
                self.sht.start()
                if self.light is not None:
                    self.light.start()
            except OSError:
                self.errors += 1
            sleep_ms(gap_ms)
            waited += gap_ms
            try:
                if self.sht.read():
                    self.t_sum += self.sht.t_raw
                    self.rh_sum += self.sht.rh_raw
                    self.n_air += 1
                else:
                    self.errors += 1
            except OSError:
                self.errors += 1
            if self.mlx is not None:
                try:
                    if self.mlx.read():
                        self.s_sum += self.mlx.raw
                        self.n_surface += 1
                    else:
                        self.errors += 1
                except OSError:
                    self.errors += 1
            if self.light is not None:
                try:
                    self.light.read()
                    c = self.light.count
                    self.l_sum += c
                    self.n_light += 1
                    if c == bh1750.FULL_SCALE:
                        self.l_saturated = True
                except OSError:
                    self.errors += 1
        if globe and g is not None:
            if waited < ds18b20.WAIT_MS:
                sleep_ms(ds18b20.WAIT_MS - waited)
            if g.read():
                self.g_raw = g.raw
                self.n_globe = 1
            else:
                self.errors += 1

    # Results in 0.01 units, None when every reading of that channel failed.
    def air_c(self):
        return sht4x.centi_c(self.t_sum, self.n_air) if self.n_air else None

    def humidity(self):
        return sht4x.centi_rh(self.rh_sum, self.n_air) if self.n_air else None

    def surface_c(self):
        return mlx90614.centi_c(self.s_sum, self.n_surface) if self.n_surface else None

    def lux(self):
        if not self.n_light:
            return None
        if self.l_saturated:
            # One saturated round makes the mean meaningless: report full scale, which the
            # gateway flags as saturated (never a lower, safer-looking value).
            return bh1750.centi_lux(bh1750.FULL_SCALE)
        return bh1750.centi_lux(self.l_sum, self.n_light)

    def globe_c(self):
        return ds18b20.centi_c(self.g_raw) if self.n_globe else None
