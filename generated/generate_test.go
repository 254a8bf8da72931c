package generated_test

// The directive lives in an external test file because go generate reads
// those last: genmodel replaces package generated's own files, and go
// generate has read them all by the time it runs.
//
//go:generate go run ../cmd/genmodel -in ../testdata/model.json.zst -out .
