package generated

//go:generate go run ../cmd/genmodel -in ../testdata/model.json.zst -out .
