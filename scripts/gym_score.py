#!/usr/bin/python3
"""Scores an exported policy.json in the real Gymnasium (optional; not part of the tests).

    scripts/gym_setup.sh                      # once: builds pybox2d 2.3.5 and Gymnasium 1.0.0
    scripts/gym_score.py POLICY.json [--episodes N] [--seed S] [--stochastic] [--env ID]

It finds what gym_setup.sh built under build/gym/ by itself (or takes PYTHONPATH).

Episode i is reset with seed S + i, Gymnasium's own seeding, so the port and Gymnasium
draw different worlds for the same seed: compare distributions, not episodes. The policy
runs exactly as trpo-train exported it (README, "Exports"): observations normalised by the
stored running mean and variance and clipped, the MLP, then the mode of the distribution
(argmax of the logits, or the Gaussian mean) unless --stochastic samples it. Gymnasium
clips continuous actions to the action space itself. Prints mean ± std, min and max of
the returns and the mean episode length; --json prints them as one JSON object.
Exit code 2 on bad input.
"""
import argparse
import json
import math
import os
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for sub in ("build/gym/gymnasium", "build/gym/box2d-py/build/lib"):
    if os.path.isdir(os.path.join(ROOT, sub)):
        sys.path.insert(0, os.path.join(ROOT, sub))


def fail(msg):
    print(f"gym_score: {msg}", file=sys.stderr)
    sys.exit(2)


def load_policy(path):
    try:
        with open(path, encoding="utf-8") as f:
            p = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: cannot read a policy: {e}")
    if not isinstance(p, dict) or p.get("format") != "trpo-studio-policy":
        fail(f"{path}: not a trpo-studio policy.json (its format is {p.get('format') if isinstance(p, dict) else None!r})")
    return p


class Mlp:
    def __init__(self, p, np):
        self.np = np
        self.layers = [(np.array(l["weight"], dtype=np.float64), np.array(l["bias"], dtype=np.float64))
                       for l in p["layers"]]
        self.act = np.tanh if p["activation"] == "tanh" else (lambda x: np.maximum(x, 0.0))
        n = p["obs_normalizer"]
        self.norm = bool(n["enabled"])
        self.mean = np.array(n["mean"], dtype=np.float64)
        self.inv_std = 1.0 / np.sqrt(np.array(n["var"], dtype=np.float64) + float(n.get("epsilon", 1e-8)))
        self.clip = float(n["clip"])
        self.discrete = p["distribution"] == "categorical"
        self.log_std = None if self.discrete else np.array(p["log_std"], dtype=np.float64)

    def __call__(self, obs, rng, stochastic):
        np = self.np
        x = np.asarray(obs, dtype=np.float64)
        if self.norm:
            x = np.clip((x - self.mean) * self.inv_std, -self.clip, self.clip)
        for k, (w, b) in enumerate(self.layers):
            x = w @ x + b
            if k + 1 < len(self.layers):
                x = self.act(x)
        if self.discrete:
            if stochastic:
                z = np.exp(x - x.max())
                return int(rng.choice(len(z), p=z / z.sum()))
            return int(np.argmax(x))
        if stochastic:
            return x + np.exp(self.log_std) * rng.standard_normal(len(x))
        return x


def main():
    ap = argparse.ArgumentParser(description="Score a policy.json in the real Gymnasium.")
    ap.add_argument("policy")
    ap.add_argument("--env", help="Gymnasium id (default: the policy's env_id)")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stochastic", action="store_true", help="sample actions instead of the mode")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.episodes < 1:
        fail("--episodes must be at least 1")
    try:
        import numpy as np
        import gymnasium as gym
    except ImportError as e:
        fail(f"{e}; run scripts/gym_setup.sh and put the PYTHONPATH it prints in the environment")
    p = load_policy(a.policy)
    env_id = a.env or p.get("env_id")
    try:
        env = gym.make(env_id)
    except Exception as e:  # gymnasium raises several kinds for an unknown id
        fail(f"--env {env_id!r}: {e}")
    obs_dim = env.observation_space.shape[0]
    if p["layer_sizes"][0] != obs_dim:
        fail(f"{a.policy}: the policy takes {p['layer_sizes'][0]} observations, {env_id} gives {obs_dim}")
    pi = Mlp(p, np)
    rng = np.random.default_rng(a.seed)
    returns, lengths = [], []
    for i in range(a.episodes):
        obs, _ = env.reset(seed=a.seed + i)
        total, n, done = 0.0, 0, False
        while not done:
            act = pi(obs, rng, a.stochastic)
            obs, r, term, trunc, _ = env.step(act)
            total += float(r)
            n += 1
            done = term or trunc
        returns.append(total)
        lengths.append(n)
    mean = sum(returns) / len(returns)
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / len(returns))
    summary = {"env": env_id, "episodes": a.episodes, "seed": a.seed, "mean": mean, "std": std,
               "min": min(returns), "max": max(returns), "mean_length": sum(lengths) / len(lengths),
               "returns": returns, "gymnasium": gym.__version__}
    if a.json:
        print(json.dumps(summary))
    else:
        print(f"{os.path.basename(a.policy)} in Gymnasium {gym.__version__} {env_id}, seeds {a.seed}-{a.seed + a.episodes - 1}, "
              f"{'sampled' if a.stochastic else 'deterministic'}: {mean:.2f} ± {std:.2f} "
              f"(min {min(returns):.2f}, max {max(returns):.2f}), mean length {summary['mean_length']:.1f}")


if __name__ == "__main__":
    main()
