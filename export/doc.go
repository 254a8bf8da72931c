// Package export reads the forest export that training/train.py and
// training/export.py write: the one contract between Python and Go.
//
// # Format (rideduration-forest/v1)
//
// A zstd-compressed JSON object, keys sorted, no whitespace, floats in
// Python's repr (shortest round-trip form, so float64 values are exact):
//
//	format         "rideduration-forest/v1"
//	metadata       object:
//	  model_name           "ride_duration_prediction_model"
//	  version              model version id: the first 32 hex digits of the
//	                       sha256 of {"feature_names", "trees"} as exported
//	  sklearn_version      e.g. "1.2.1"
//	  n_estimators         number of trees
//	  params               the RandomForestRegressor's scalar parameters
//	  rmse                 RMSE on the validation month (train.py only)
//	  train_rows, valid_rows
//	  train_data           the raw training file's name; train_data_sha256 its sha256
//	  train_table_sha256, valid_table_sha256   the prep tables' sha256
//	  test_ride_prediction sklearn's prediction for 130_205, 3.66 mi
//	  run_id               the MLflow run the model came from (export.py
//	                       --run-id, make model); absent for a model trained
//	                       here. When present it, not version, is the
//	                       generated package's Version.
//	feature_names  DictVectorizer.feature_names_: "PU_DO=<PU>_<DO>" one-hot
//	               columns and "trip_distance", in column order
//	trees          one object per estimator, in estimator order, each holding
//	               sklearn's tree_ arrays, one entry per node (node 0 is the root):
//	  children_left, children_right   child node ids, -1 at a leaf
//	  feature        column tested at the node (-2 at a leaf)
//	  threshold      go left when float32(x[feature]) <= threshold (-2 at a leaf)
//	  value          the node's output (tree_.value[:, 0, 0]); a leaf's is its prediction
//	  n_node_samples training samples reaching the node
//
// The forest predicts, as sklearn does: cast the input to float32, walk each
// tree, sum the leaf values in estimator order starting from 0, divide by the
// number of trees.
package export
