// Package export reads the tree-ensemble export that training/train.py and
// training/export.py write: the one contract between Python and Go.
//
// One format holds every model the generator compiles (decision trees,
// random and extra-trees forests, gradient boosting, histogram gradient
// boosting, XGBoost): the trees as flat node arrays, and a few numbers that
// say how the library combines them. The generator has no per-library code
// paths; the exporter, which knows each library, fills the numbers in.
//
// # Format (rideduration-forest/v2)
//
// A zstd-compressed JSON object, keys sorted, no whitespace, floats in
// Python's repr (shortest round-trip form, so float64 values are exact):
//
//	format         "rideduration-forest/v2"
//	metadata       object:
//	  model_name           "ride_duration_prediction_model"
//	  version              model version id: the first 32 hex digits of the
//	                       sha256 of {"ensemble", "feature_names", "sparse",
//	                       "trees"} as exported
//	  estimator            the fitted estimator's class, e.g.
//	                       "RandomForestRegressor", "XGBRegressor", "Booster"
//	  library, library_version   "scikit-learn" or "xgboost", and its version
//	  sklearn_version      the scikit-learn of the DictVectorizer, e.g. "1.2.1"
//	  n_estimators         number of trees exported
//	  params               the estimator's scalar parameters
//	  rmse                 RMSE on the validation month
//	  train_rows, valid_rows
//	  train_data           the raw training file's name; train_data_sha256 its sha256
//	  train_table_sha256, valid_table_sha256   the prep tables' sha256
//	  test_ride_prediction the library's prediction for 130 → 205, 3.66 mi
//	  run_id               the MLflow run the model came from (export.py
//	                       --run-id, make model); absent for a model trained
//	                       here. When present it, not version, is the
//	                       generated package's Version.
//	feature_names  DictVectorizer.feature_names_, in column order. Each is one
//	               of what a ride event carries (package feature, Columns):
//	               "PU_DO=<PU>_<DO>", "PULocationID=<id>", "DOLocationID=<id>"
//	               (one-hot categories), "PULocationID", "DOLocationID",
//	               "trip_distance" (numbers)
//	sparse         true when the DictVectorizer's rows are sparse (its default):
//	               a one-hot column that is not hot is then absent from the
//	               row, not 0 (see ensemble.absent)
//	ensemble       how a row's prediction is computed from the trees:
//	  input        "float32" or "float64": each feature value is converted to
//	               this type before it is compared (scikit-learn's trees and
//	               XGBoost: float32; HistGradientBoosting: float64)
//	  split        "<=" or "<": a node sends x left when x <= threshold
//	               (scikit-learn) or x < threshold (XGBoost), compared exactly
//	               (x widened to float64)
//	  absent       "zero" or "missing": an entry absent from a sparse row is 0
//	               (scikit-learn) or missing, sent where missing_left says
//	               (XGBoost on a sparse row); a dense row has no absent entry
//	  sum          "float64" or "float32": the type the tree outputs are added in
//	  base         the sum's start value (in sum's type)
//	  scale        each leaf value is multiplied by scale, the product rounded
//	               to sum's type, before it is added; 1 means no product
//	  divisor      the sum is divided by divisor at the end; 1 means no division
//	  link         optional: the function of the divided sum the library
//	               returns. Absent: the sum itself. "exp": the C library's
//	               expf of the float32 sum (XGBoost's reg:gamma,
//	               count:poisson, reg:tweedie; package link), for a float32
//	               sum only. "numpy.exp", "numpy.expm1": numpy's function of
//	               the sum, as scikit-learn applies it (HistGradientBoosting's
//	               log-link losses, a TransformedTargetRegressor's
//	               inverse_func), through SIMD kernels the CPU chooses: a
//	               tabled link, whose values link_table holds
//	trees          one object per tree, in the order the library adds them,
//	               each holding one entry per node (node 0 is the root, children
//	               come after their parent):
//	  children_left, children_right   child node ids, -1 at a leaf
//	  feature        column tested at the node (negative at a leaf)
//	  threshold      the split value (see ensemble.split; ignored at a leaf)
//	  value          a leaf's output (internal nodes: anything)
//	  missing_left   optional, 0 or 1: 1 when a missing value goes left
//	                 (XGBoost's default_left, HistGradientBoosting's
//	                 missing_go_to_left); absent when the library has no
//	                 missing values (scikit-learn's trees)
//	  n_node_samples optional: training samples reaching the node
//	link_table     a tabled link's values, which the exporter computes in a
//	               second pass, with the library's own function in the run's
//	               environment, for the sums the generator lists
//	               (gen.LinkSums: every sum a cell of the generated table can
//	               hold); absent otherwise, and after the first pass:
//	  function     the link, as ensemble.link names it
//	  numpy        numpy's version
//	  cpu          the CPU features numpy dispatched its kernels on
//	  sums         the divided sums, ascending (-0 before +0), each once
//	  values       the library's link of each sum, in the same order
//
// A row's prediction is, in the library's own arithmetic:
//
//	s := base
//	for each tree, in order: s = s + round(scale × leaf)   (in sum's type)
//	return link(s / divisor)
//
// For example: a forest has base 0, scale 1, divisor its tree count; a
// single tree base −0 (so that −0 + v is v, bit for bit), scale 1,
// divisor 1; gradient boosting base its init estimator's constant and scale
// its learning rate; XGBoost sums in float32 from its base_score (its
// margin: log(base_score) for a log-link objective, with link "exp"), and
// XGBoost's dart booster's leaf values are each already multiplied by
// their tree's weight as its predict does (the product rounded to float32).
package export
