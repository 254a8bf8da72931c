package training

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/feature"
)

// What the original does with a location id sent as a string, for every
// form of the features a model compiles from: the ride's dict built as the
// original builds it ('%s_%s' % (PU, DO) for PU_DO, str(PU) for a category,
// the value as sent for a number, as it sends trip_distance), then the
// fitted DictVectorizer's row, beside the row of the id sent as a number.
// "130" gives the number's row exactly when the model reads no id sent as
// a string as a number (feature.NumberIDsOf): DictVectorizer one-hots a
// string into "PULocationID=130", a column a model of numbers lacks. Every
// other spelling gives another row in every form: the function refuses it.
func TestIDStringsAsTheOriginalReadsThem(t *testing.T) {
	needPython(t)
	out := run(t, python, "-c", `import json
from sklearn.feature_extraction import DictVectorizer
from training import features

def ride_dict(forms, pu, do):
    d = {}
    if forms.pu_do:
        d["PU_DO"] = "%s_%s" % (pu, do)
    for key, form, v in (("PULocationID", forms.pu, pu), ("DOLocationID", forms.do, do)):
        if form == "str":
            d[key] = str(v)
        elif form == "int":
            d[key] = v  # as sent, as the original sends trip_distance
    d["trip_distance"] = 3.66
    return d

out = {}
for spec in ["PU_DO,distance", "PU:str,DO:str,distance", "PU:int,DO:int,distance", "PU_DO,PU:int,DO:str,distance", "PU:str,DO:int,distance"]:
    forms = features.Forms.parse(spec)
    dv = DictVectorizer(sparse=False).fit([forms.ride(130, 205, 1.0), forms.ride(7, 8, 2.0)])
    row = lambda pu, do: dv.transform([ride_dict(forms, pu, do)]).tolist()
    number = row(130, 205)
    same = {}
    for s in ["130", "130.0", " 130", "130 ", "1e2", "+130", "0130", "", "1_30"]:
        same["PU " + s] = row(s, 205) == number
        same["DO " + s] = row(130, s.replace("130", "205")) == number
    out[spec] = {"names": dv.feature_names_, "same": same}
print(json.dumps(out))`)
	var got map[string]struct {
		Names []string        `json:"names"`
		Same  map[string]bool `json:"same"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got, 5)
	for spec, g := range got {
		numbers := feature.NumberIDsOf(g.Names)
		assert.Equal(t, numbers&feature.PUNumber == 0, g.Same["PU 130"], "%s (%q): PULocationID \"130\"", spec, g.Names)
		assert.Equal(t, numbers&feature.DONumber == 0, g.Same["DO 130"], "%s (%q): DOLocationID \"205\"", spec, g.Names)
		for k, same := range g.Same {
			if k != "PU 130" && k != "DO 130" {
				assert.False(t, same, "%s: %q is keyed as the number", spec, k)
			}
		}
	}
}
