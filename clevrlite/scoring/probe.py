"""The audit's learned text-only probe: regularised logistic regressions on what the text says.

Two kinds, both fitted with L-BFGS on the cross-entropy plus an L2 penalty:
- ``Classifier``: a multinomial regression from one feature vector to one of the answers seen
  in training (colours, shapes, null ...);
- ``Chooser``: a conditional logit that scores each listed object by its features and picks
  one, whose answer is given (the object a pointer the text withholds names).
Features are standardised on the training data. Small and deterministic: no randomness.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
from scipy.optimize import minimize

L2 = 1.0  # penalty on the weights, per training example summed (features are standardised)
MAX_ITER = 200


def _standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-9] = 1.0
    return mean, std


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class Classifier:
    """Predicts one of the training answers from a feature vector."""

    def __init__(self, features: Sequence[np.ndarray], answers: Sequence[Any]) -> None:
        keys = [_key(a) for a in answers]
        self.classes = sorted(set(keys))
        self.values = {k: a for k, a in zip(keys, answers)}
        x = np.asarray(features, float)
        self.mean, self.std = _standardiser(x)
        x = np.column_stack([(x - self.mean) / self.std, np.ones(len(x))])
        y = np.array([self.classes.index(k) for k in keys])
        c, f = len(self.classes), x.shape[1]
        if c == 1:
            self.weights = np.zeros((f, 1))
            return
        onehot = np.eye(c)[y]

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            w = w.reshape(f, c)
            logits = x @ w
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            value = -np.log(p[np.arange(len(y)), y] + 1e-12).sum() + L2 * (w[:-1] ** 2).sum()
            grad = x.T @ (p - onehot)
            grad[:-1] += 2 * L2 * w[:-1]
            return value, grad.ravel()

        found = minimize(loss, np.zeros(f * c), jac=True, method="L-BFGS-B",
                         options={"maxiter": MAX_ITER})
        self.weights = found.x.reshape(f, c)

    def predict(self, features: np.ndarray) -> Any:
        x = np.append((np.asarray(features, float) - self.mean) / self.std, 1.0)
        return self.values[self.classes[int(np.argmax(x @ self.weights))]]


class Chooser:
    """Picks one listed object by its features (conditional logit); the training target is
    every candidate whose answer is right."""

    def __init__(self, rows: Sequence[np.ndarray], right: Sequence[np.ndarray]) -> None:
        stacked = np.vstack(rows)
        self.mean, self.std = _standardiser(stacked)
        x = (stacked - self.mean) / self.std
        sizes = np.array([len(r) for r in rows])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        group = np.repeat(np.arange(len(rows)), sizes)
        good = np.concatenate(right).astype(bool)
        usable = np.bincount(group, weights=good, minlength=len(rows)) > 0
        f = x.shape[1]

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            s = x @ w
            peak = np.maximum.reduceat(s, starts)[group]
            e = np.exp(s - peak)
            total = np.add.reduceat(e, starts)
            hit = np.bincount(group, weights=e * good, minlength=len(rows))
            value = -(np.log(hit[usable] + 1e-300) - np.log(total[usable])).sum()
            p_all = e / total[group]
            p_hit = np.where(good, e / np.maximum(hit[group], 1e-300), 0.0)
            keep = usable[group]
            grad = x[keep].T @ (p_all - p_hit)[keep] + 2 * L2 * w
            return value + L2 * (w ** 2).sum(), grad

        found = minimize(loss, np.zeros(f), jac=True, method="L-BFGS-B",
                         options={"maxiter": MAX_ITER})
        self.weights = found.x

    def choose(self, rows: np.ndarray) -> list[int]:
        """The positions of the best-scoring candidates (ties all kept)."""
        s = ((np.asarray(rows, float) - self.mean) / self.std) @ self.weights
        return [int(i) for i in np.flatnonzero(s >= s.max() - 1e-9)]
