package booster_test

// The directive lives in an external test file because go generate reads
// those last: genmodel replaces package booster's own files, and go
// generate has read them all by the time it runs. The export is named from
// the module's root (../../../ climbs to it) so that the generated headers
// name it as the repository does.
//
//go:generate go run ../../../cmd/genmodel -in ../../../internal/xgbcompare/testdata/booster.json.zst -out . -pkg booster
