"""Python `lifetimes` side of benches/clv: fit BG/NBD + Gamma-Gamma on a summary CSV and score
every customer the same way as the Rust runner (horizon 12 × 4.345 weeks, monthly discounting)."""
import sys
import time

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

path = sys.argv[1]
t0 = time.perf_counter()
d = pd.read_csv(path, dtype={"customer_id": str})
t_read = time.perf_counter() - t0

t1 = time.perf_counter()
bgf = BetaGeoFitter().fit(d["frequency"], d["recency"], d["T"])
t_bg = time.perf_counter() - t1
t2 = time.perf_counter()
rep = d[(d["frequency"] > 0) & (d["monetary_value"] > 0)]
ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
t_gg = time.perf_counter() - t2
t3 = time.perf_counter()
horizon = 12 * 4.345
expected = bgf.conditional_expected_number_of_purchases_up_to_time(
    horizon, d["frequency"], d["recency"], d["T"])
p_alive = bgf.conditional_probability_alive(d["frequency"], d["recency"], d["T"])
spend = ggf.conditional_expected_average_profit(d["frequency"], d["monetary_value"])
clv = ggf.customer_lifetime_value(bgf, d["frequency"], d["recency"], d["T"], d["monetary_value"],
                                  time=12, discount_rate=0.01, freq="W")
t_score = time.perf_counter() - t3

p = bgf.params_
g = ggf.params_
# lifetimes fits on rescaled times; the log-likelihood of the unscaled data, for comparison:
ll = -BetaGeoFitter._negative_log_likelihood(
    np.log(p[["r", "alpha", "a", "b"]].values), d["frequency"].values, d["recency"].values,
    d["T"].values, np.ones(len(d)), 0.0) * len(d)
print(f"python customers={len(d)}")
print(f"python bgnbd r={p['r']:.4f} alpha={p['alpha']:.4f} a={p['a']:.4f} b={p['b']:.4f} "
      f"ll={ll:.2f}")
print(f"python gamma_gamma p={g['p']:.4f} q={g['q']:.4f} gamma={g['v']:.4f}")
print(f"python totals expected_transactions={expected.sum():.2f} "
      f"mean_p_alive={p_alive.mean():.6f} clv={clv.sum():.2f}")
print(f"python seconds read={t_read:.3f} fit_bgnbd={t_bg:.3f} fit_gg={t_gg:.3f} "
      f"score={t_score:.3f} fit_and_score={t_bg + t_gg + t_score:.3f}")
