"""The per-epoch callback of :mod:`fastnn.sklearn`'s estimators (fitted curves, stopping
rules, ``verbose`` printing, the best parameters for early stopping)."""


class _EpochMonitor:
    """The per-epoch callback of the estimators' training: scikit-learn's fitted curves,
    its stopping rules, its ``verbose`` printing and the best parameters for early stopping.

    Called by :meth:`fastnn.Network.fit` after every epoch with that epoch's record.
    """

    def __init__(self, est, n_train, validation, incremental):
        self.est = est
        self.n_train = n_train
        self.validation = validation  # (X_val, y_val, sw_val) with early stopping, else None
        self.incremental = incremental
        self.epochs = 0
        self.best_theta = None

    def __call__(self, net, record):
        est = self.est
        self.epochs += 1
        loss = record["training_cost"]
        est.loss_curve_.append(loss)
        est.t_ += self.n_train
        if est.verbose:
            print("Iteration %d, loss = %.8f" % (self.epochs, loss))
        if self.validation is not None:
            score = est.score(*self.validation[:2], sample_weight=self.validation[2])
            est.validation_scores_.append(score)
            if est.verbose:
                print("Validation score: %f" % score)
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_theta = net._theta.copy()
            watched = score
        else:
            est.best_loss_ = min(est.best_loss_, loss)
            watched = -loss
        if self.incremental:
            return False
        est._stopping.update(watched)
        if est._stopping.stopped is None:
            return False
        if est.verbose:
            what = "Validation score" if self.validation is not None else "Training loss"
            print(f"{what} did not improve more than tol={est.tol:f} for "
                  f"{est.n_iter_no_change} consecutive epochs. Stopping.")
        return True

    def finish(self, net):
        """After training: ``n_iter_``, ``loss_``, and the best parameters back (early stopping)."""
        est = self.est
        est.n_iter_ = self.epochs
        est.loss_ = est.loss_curve_[-1] if est.loss_curve_ else None
        if self.best_theta is not None:
            net._theta[...] = self.best_theta
