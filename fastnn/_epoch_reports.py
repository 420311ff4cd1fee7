"""What :class:`~fastnn.Network`'s training loop measures and prints after each epoch.

``Network._train`` calls ``report(j)`` after epoch ``j`` and records the dict it
returns in ``history_``.  The three builders here make that function for the
three ways of training: the book's ``network.py`` ``SGD`` (prints the test
accuracy), its ``network2.py`` ``SGD`` (prints and returns the monitored costs and
accuracies) and ``fit`` (prints nothing, measures what ``training_metrics`` asks).
They take the network and run its engine's forward pass, like :mod:`fastnn._training_rows`.
"""
import numpy as np

from . import training


def network_report(net, test):
    """Per-epoch evaluation and printing of network.py's ``SGD``.

    ``test`` is ``(X, Y, labels)`` or None.
    """
    def report(j):
        if test is None:
            print(f"Epoch {j} complete")
            return {}
        correct = net._count_correct(test[0], test[2])
        print(f"Epoch {j}: {correct} / {len(test[2])}")
        return {"validation_accuracy": correct / len(test[2])}
    return report


def network2_report(net, X, Y, labels, ev, lmbda, monitors, lists):
    """Per-epoch monitoring and printing of network2.py's ``SGD``.

    ``monitors`` are the four ``monitor_*`` flags (evaluation cost, evaluation
    accuracy, training cost, training accuracy); each epoch appends to the
    matching list of ``lists``, the four lists ``SGD`` returns.
    """
    mon_ev_cost, mon_ev_acc, mon_tr_cost, mon_tr_acc = monitors
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = lists

    def report(j):
        print("Epoch %s training complete" % j)
        record = {}
        if mon_tr_cost or mon_tr_acc:
            A = net._engine.feedforward(net, X)
            if mon_tr_cost:
                record["training_cost"] = training.total_cost(A, Y, net.cost, lmbda, net.weights)
                training_cost.append(record["training_cost"])
                print("Cost on training data: {}".format(record["training_cost"]))
            if mon_tr_acc:
                correct = int(np.sum(np.argmax(A, axis=1) == labels))
                record["training_accuracy"] = correct / len(labels)
                training_accuracy.append(correct)
                print("Accuracy on training data: {} / {}".format(correct, len(labels)))
        if ev is not None:
            A = net._engine.feedforward(net, ev[0])
            correct = int(np.sum(np.argmax(A, axis=1) == ev[2]))
            record["validation_accuracy"] = correct / len(ev[2])
            if mon_ev_cost:
                record["validation_cost"] = training.total_cost(A, ev[1], net.cost, lmbda, net.weights)
                evaluation_cost.append(record["validation_cost"])
                print("Cost on evaluation data: {}".format(record["validation_cost"]))
            if mon_ev_acc:
                evaluation_accuracy.append(correct)
                print("Accuracy on evaluation data: {} / {}".format(correct, len(ev[2])))
        print()
        return record
    return report


def fit_report(net, data, val, lmbda, training_metrics):
    """Per-epoch measurements of ``fit``: training and validation cost and accuracy.

    ``data`` is the training rows (:mod:`fastnn._training_rows`), ``val`` the checked
    ``(X, Y)`` of ``validation_data`` or None; each validation accuracy is also
    appended to ``net.validation_accuracy_``.
    """
    val_labels = None if val is None else np.argmax(val[1], axis=1)

    def report(j):
        if training_metrics == "running":
            record = data.running_measures(net, lmbda)
        elif training_metrics == "exact":
            record = data.training_measures(net, lmbda)
        else:
            record = {}
        if val is not None:
            A = net._engine.feedforward(net, val[0])
            record["validation_cost"] = training.total_cost(A, val[1], net.cost, lmbda, net.weights)
            record["validation_accuracy"] = float(np.mean(np.argmax(A, axis=1) == val_labels))
            net.validation_accuracy_.append(record["validation_accuracy"])
        return record
    return report
