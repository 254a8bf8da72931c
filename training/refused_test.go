package training

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the generator does not compile is refused at export, before
// anything is written (and, for a class no compiled model is made of,
// before its pickle is loaded), with a message that says why and what is
// supported: other estimators, outputs, steps and objectives, and features
// a ride event does not carry, named.
func TestExportRefuses(t *testing.T) {
	dir := t.TempDir()
	run(t, python, "training/testdata/refused.py", dir)
	const supported = "this generator compiles a fitted Pipeline(DictVectorizer, R) as make_pipeline(DictVectorizer(), R) makes, logged with mlflow.sklearn or pickled, R one of: DecisionTreeRegressor, "
	// A class of the libraries that no compiled model is made of is refused
	// by the pickle's scan, before anything of it is loaded.
	const unrun = "refused before loading, nothing in it ran): "
	// A TransformedTargetRegressor compiles with numpy's own log and exp, or log1p and expm1, of a regressor without a link.
	const ttr = "a TransformedTargetRegressor is compiled with func=np.log, inverse_func=np.exp or func=np.log1p, inverse_func=np.expm1 (numpy's own functions, no kw_args), around a regressor without a link of its own"
	ttrNames := func(name, global, what string) string {
		return "check: the model is a TransformedTargetRegressor whose pickle names " + global + " (in " + dir + "/" + name + ".pkl; refused before loading, nothing in it ran), " + what + ": " + ttr
	}
	const function = "a function no compiled model applies (a function of the user's is never run)"
	ownLink := func(est, link string) string {
		return "check: the TransformedTargetRegressor's regressor " + est + " has a link of its own (" + link + "): its prediction is not a sum of trees, and a transformed target over a link is not compiled: " + ttr
	}
	const carried = "is not something a ride event carries: a ride event carries PULocationID and DOLocationID (positive integers) and trip_distance; a model feature must be one of "
	for name, want := range map[string]string{
		"linear":          "check: unsupported estimator sklearn.linear_model._base.LinearRegression (in " + dir + "/linear.pkl; " + unrun + supported,
		"classifier":      "check: unsupported estimator sklearn.ensemble._forest.RandomForestClassifier (in " + dir + "/classifier.pkl; " + unrun + supported,
		"multi-output":    "check: the RandomForestRegressor predicts 2 outputs: want one (a single-output regression)",
		"bare":            "check: RandomForestRegressor is a bare estimator, without the DictVectorizer that turns a ride into its columns: " + supported,
		"three-steps":     "check: unsupported estimator sklearn.preprocessing._data.MaxAbsScaler (in " + dir + "/three-steps.pkl; " + unrun + supported,
		"gb-init-linear":  "check: unsupported estimator sklearn.linear_model._base.LinearRegression (in " + dir + "/gb-init-linear.pkl; " + unrun + supported,
		"hgb-sparse":      "check: HistGradientBoostingRegressor takes dense rows: its DictVectorizer must be DictVectorizer(sparse=False)",
		"hgb-tweedie":     "check: the HistGradientBoostingRegressor has a Tweedie loss (in " + dir + "/hgb-tweedie.pkl; " + unrun + "only squared_error, absolute_error and quantile (the identity link), poisson and gamma (the log link: numpy's exp of the trees' sum) are exported",
		"hgb-categorical": "check: the HistGradientBoostingRegressor treats 1 column(s) as categorical (PULocationID; categorical_features=[0]): only models without categorical features are exported",
		"xgb-gblinear":    "check: the XGBRegressor has booster 'gblinear': only 'gbtree' and 'dart' (trees) are exported, not gblinear (a linear model)",
		"xgb-logistic":    "check: the XGBRegressor has objective 'binary:logistic': only the regression objectives reg:squarederror, reg:linear, reg:squaredlogerror, reg:pseudohubererror, reg:absoluteerror, reg:quantileerror, reg:gamma, count:poisson, reg:tweedie are exported",
		"xgb-classifier":  "check: unsupported estimator xgboost.sklearn.XGBClassifier (in " + dir + "/xgb-classifier.pkl; " + unrun + supported,
		"ttr-user":        ttrNames("ttr-user", "numpy.core._multiarray_umath.sqrt", function),
		"ttr-own":         ttrNames("ttr-own", "__main__.own_log", function),
		"ttr-scaler":      ttrNames("ttr-scaler", "sklearn.preprocessing._data.StandardScaler", "a class no compiled model is made of"),
		"ttr-mismatched":  "check: the TransformedTargetRegressor has func=np.log, inverse_func=np.expm1, which are not each other's inverse (its check_inverse warns at fit): " + ttr,
		"ttr-kw-args":     "check: the TransformedTargetRegressor's functions take arguments (kw_args=None, inv_kw_args={'casting': 'same_kind'}): " + ttr,
		"ttr-hgb-poisson": ownLink("HistGradientBoostingRegressor", "loss 'poisson', the log link: numpy's exp of the trees' sum"),
		"ttr-xgb-gamma":   ownLink("XGBRegressor", "objective reg:gamma, XGBoost's expf of the margin"),
		"ttr-bare":        "check: the TransformedTargetRegressor's regressor is RandomForestRegressor, without the DictVectorizer that turns a ride into its columns: " + supported,
		"fare-amount":     "check: the model's feature 'fare_amount' " + carried,
		"float-id":        "check: the model's feature 'PULocationID=1.0' " + carried,
		"separator":       "check: the model's feature 'PU_DO:1_1' " + carried,
	} {
		t.Run(name, func(t *testing.T) {
			export := filepath.Join(dir, name+".json")
			cmd := exec.Command(python, "training/export.py", "--model", filepath.Join(dir, name+".pkl"), "--export", export)
			cmd.Dir = ".."
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "%s", out)
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			assert.True(t, strings.HasPrefix(lines[len(lines)-1], want), "the message:\n%s\nwant it to start with:\n%s", lines[len(lines)-1], want)
			_, err = os.Stat(export)
			assert.ErrorIs(t, err, os.ErrNotExist, "nothing exported")
		})
	}
}
