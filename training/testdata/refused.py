"""Pickles models export.py must refuse, one file a case, into the directory given.

    python3 training/testdata/refused.py DIR

The Go test TestExportRefuses exports each and checks the message.
"""

import os
import pickle
import sys

import numpy as np
import xgboost as xgb
from sklearn.ensemble import (GradientBoostingRegressor, HistGradientBoostingRegressor, RandomForestClassifier,
                              RandomForestRegressor)
from sklearn._loss.loss import HalfTweedieLoss
from sklearn.compose import TransformedTargetRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MaxAbsScaler, StandardScaler

rows = [{"PU_DO": f"{i % 7 + 1}_{i % 5 + 1}", "trip_distance": float(i % 11)} for i in range(200)]
y = np.array([r["trip_distance"] * 2 + 1 for r in rows])
numbers = [{"PULocationID": i % 7 + 1, "trip_distance": float(i % 11)} for i in range(200)]


def own_log(x):
    return np.log(x)


def own_exp(x):
    return np.exp(x)


def forest(**kw):
    return RandomForestRegressor(n_estimators=2, random_state=0, **kw)


hgb_sparse = make_pipeline(DictVectorizer(), HistGradientBoostingRegressor(max_iter=2))
hgb_sparse.steps[0][1].fit(numbers)
hgb_sparse.steps[1][1].fit(hgb_sparse.steps[0][1].transform(numbers).toarray(), y)

cases = {
    "linear": make_pipeline(DictVectorizer(), LinearRegression()).fit(rows, y),
    "classifier": make_pipeline(DictVectorizer(), RandomForestClassifier(n_estimators=2)).fit(rows, y > 10),
    "multi-output": make_pipeline(DictVectorizer(), forest()).fit(rows, np.c_[y, y]),
    "bare": forest().fit(DictVectorizer().fit_transform(rows), y),
    "three-steps": make_pipeline(DictVectorizer(), MaxAbsScaler(), forest()).fit(rows, y),
    "gb-init-linear": make_pipeline(DictVectorizer(), GradientBoostingRegressor(init=LinearRegression(), n_estimators=2)).fit(rows, y),
    "hgb-sparse": hgb_sparse,
    # HistGradientBoostingRegressor takes a loss object too: a Tweedie loss (its loss argument has no 'tweedie').
    "hgb-tweedie": make_pipeline(DictVectorizer(sparse=False), HistGradientBoostingRegressor(loss=HalfTweedieLoss(power=1.5), max_iter=2)).fit(numbers, y),
    "hgb-categorical": make_pipeline(DictVectorizer(sparse=False), HistGradientBoostingRegressor(categorical_features=[0], max_iter=2)).fit(numbers, y),
    "xgb-gblinear": make_pipeline(DictVectorizer(), xgb.XGBRegressor(booster="gblinear", n_estimators=2)).fit(rows, y),
    "xgb-logistic": make_pipeline(DictVectorizer(), xgb.XGBRegressor(objective="binary:logistic", n_estimators=2)).fit(rows, y > 10),
    "xgb-classifier": make_pipeline(DictVectorizer(), xgb.XGBClassifier(n_estimators=2)).fit(rows, y > 10),
    "ttr-user": TransformedTargetRegressor(regressor=make_pipeline(DictVectorizer(), forest()), transformer=FunctionTransformer(np.sqrt, np.square)).fit(rows, y),
    "ttr-own": TransformedTargetRegressor(regressor=make_pipeline(DictVectorizer(), forest()), func=own_log, inverse_func=own_exp).fit(rows, y),
    "ttr-scaler": TransformedTargetRegressor(regressor=make_pipeline(DictVectorizer(), forest()), transformer=StandardScaler()).fit(rows, y),
    "ttr-mismatched": TransformedTargetRegressor(regressor=make_pipeline(DictVectorizer(), forest()), func=np.log, inverse_func=np.expm1, check_inverse=False).fit(rows, y),
    "ttr-kw-args": make_pipeline(DictVectorizer(), TransformedTargetRegressor(regressor=forest(), transformer=FunctionTransformer(np.log, np.exp, inv_kw_args={"casting": "same_kind"}))).fit(rows, y),
    "ttr-hgb-poisson": TransformedTargetRegressor(regressor=make_pipeline(DictVectorizer(sparse=False), HistGradientBoostingRegressor(loss="poisson", max_iter=2)), func=np.log, inverse_func=np.exp).fit(numbers, y),
    "ttr-xgb-gamma": make_pipeline(DictVectorizer(), TransformedTargetRegressor(regressor=xgb.XGBRegressor(objective="reg:gamma", n_estimators=2), func=np.log, inverse_func=np.exp)).fit(rows, y + 2),
    "ttr-bare": TransformedTargetRegressor(regressor=forest(), func=np.log, inverse_func=np.exp).fit(DictVectorizer().fit_transform(rows), y),
    "fare-amount": make_pipeline(DictVectorizer(), forest()).fit([dict(r, fare_amount=1.0) for r in rows], y),
    "float-id": make_pipeline(DictVectorizer(), forest()).fit([dict(r, PULocationID=f"{i % 3 + 1}.0") for i, r in enumerate(rows)], y),
    "separator": make_pipeline(DictVectorizer(separator=":"), forest()).fit(rows, y),
}
for name, model in cases.items():
    with open(os.path.join(sys.argv[1], name + ".pkl"), "wb") as f:
        pickle.dump(model, f)
