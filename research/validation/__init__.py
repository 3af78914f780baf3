"""Out-of-sample validation of sweeps: walk-forward folds and the IS-best's OOS record."""
