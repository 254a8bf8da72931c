// Package artifacts copies an MLflow model directory (a run's
// artifacts/model: the MLmodel file, the pickled model, its environment
// files) from S3 or from disk to a local directory, so that the model
// pipeline reads it locally. A missing model, bucket or permission comes
// back as an error that names the location and what S3 said.
//
// It reads the directory as it is, and checks nothing of the model: that
// is training/export.py's job, which has scikit-learn at hand.
package artifacts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// MLmodel is the file every MLflow model directory has at its root.
const MLmodel = "MLmodel"

// MaxFiles bounds how many objects one model directory may hold: a listing
// beyond it is a wrong prefix (a whole experiment, say), not a model.
const MaxFiles = 1000

// ErrNotFound is wrapped by the errors for a model directory, or a bucket,
// that does not exist.
var ErrNotFound = errors.New("not found")

// Location is where a model directory is: an S3 prefix or a local directory.
type Location struct {
	Bucket, Prefix string // s3://Bucket/Prefix (Prefix without a trailing slash)
	Dir            string // a local directory, when Bucket is empty
}

// Parse reads s3://bucket/prefix, file:///dir or a plain directory path.
func Parse(uri string) (Location, error) {
	if rest, ok := strings.CutPrefix(uri, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		prefix = strings.Trim(prefix, "/")
		if bucket == "" || prefix == "" {
			return Location{}, fmt.Errorf("%q: want s3://bucket/path/to/model", uri)
		}
		return Location{Bucket: bucket, Prefix: prefix}, nil
	}
	dir := strings.TrimPrefix(uri, "file://")
	if dir == "" {
		return Location{}, errors.New("no model location given")
	}
	if strings.Contains(dir, "://") {
		return Location{}, fmt.Errorf("%q: want s3://bucket/path/to/model or a local directory", uri)
	}
	return Location{Dir: dir}, nil
}

func (l Location) String() string {
	if l.Bucket != "" {
		return "s3://" + l.Bucket + "/" + l.Prefix
	}
	return l.Dir
}

// S3 is the part of the S3 API Fetch uses (*s3.Client has it).
type S3 interface {
	s3.ListObjectsV2APIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// File is one fetched file: its path relative to the model directory and
// its size.
type File struct {
	Name string
	Size int64
}

// Fetch copies the model directory at loc into dir, replacing dir only once
// every file has arrived (a failed fetch leaves dir as it was). client is
// used for an S3 location and may be nil for a local one. The model
// directory must hold an MLmodel file: without one it is reported as not
// found, which for an MLflow run's default location means no such run.
func Fetch(ctx context.Context, client S3, loc Location, dir string) ([]File, error) {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), filepath.Base(dir)+".fetch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var files []File
	if loc.Bucket != "" {
		files, err = fetchS3(ctx, client, loc, tmp)
	} else {
		files, err = copyDir(loc.Dir, tmp)
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	return files, os.Rename(tmp, dir)
}

func fetchS3(ctx context.Context, client S3, loc Location, dir string) ([]File, error) {
	// The MLmodel first: its absence is the common failure (a wrong run id),
	// and S3 names it precisely (NoSuchKey, NoSuchBucket, AccessDenied).
	mlmodel := loc.Prefix + "/" + MLmodel
	if _, err := getObject(ctx, client, loc.Bucket, mlmodel, filepath.Join(dir, MLmodel)); err != nil {
		err = s3Error(loc.Bucket, mlmodel, err)
		if errors.Is(err, ErrNotFound) {
			err = modelsBelow(err, loc.String(), s3ModelsBelow(ctx, client, loc))
		}
		return nil, err
	}
	var files []File
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &loc.Bucket, Prefix: aws.String(loc.Prefix + "/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, s3Error(loc.Bucket, loc.Prefix+"/", err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			name := strings.TrimPrefix(key, loc.Prefix+"/")
			if name == "" || strings.HasSuffix(name, "/") { // a folder marker
				continue
			}
			if !filepath.IsLocal(name) || path.Clean(name) != name {
				return nil, fmt.Errorf("s3://%s/%s: a key that would leave the model directory", loc.Bucket, key)
			}
			if len(files) == MaxFiles {
				return nil, fmt.Errorf("%s holds more than %d objects: not one model directory", loc, MaxFiles)
			}
			size := aws.ToInt64(obj.Size)
			if name != MLmodel {
				if size, err = getObject(ctx, client, loc.Bucket, key, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
					return nil, s3Error(loc.Bucket, key, err)
				}
			}
			files = append(files, File{Name: name, Size: size})
		}
	}
	return files, nil
}

// below is how deep under a location a model directory is looked for when
// the location holds none: an MLflow run's model is two levels under the
// run (artifacts/model), three under its experiment.
const below = 3

// ModelsBelowError is the error for a location that holds no MLmodel
// but has model directories below it (a run's directory, say): Err, then
// the directories, "…; s3://b/4/run/artifacts/model holds one: name that
// directory".
type ModelsBelowError struct {
	Err   error
	Where string   // the location
	Dirs  []string // below it, by slash path relative to it
}

func (e *ModelsBelowError) Unwrap() error { return e.Err }

func (e *ModelsBelowError) Error() string {
	named := make([]string, 0, 3)
	for _, d := range e.Dirs[:min(len(e.Dirs), cap(named))] {
		named = append(named, strings.TrimSuffix(e.Where, "/")+"/"+d)
	}
	if len(e.Dirs) == 1 {
		return e.Err.Error() + "; " + named[0] + " holds one: name that directory"
	}
	more := ""
	if len(e.Dirs) > len(named) {
		more = fmt.Sprintf(" and %d more", len(e.Dirs)-len(named))
	}
	return fmt.Sprintf("%v; %d directories below it hold one, %s%s: name one of them", e.Err, len(e.Dirs), strings.Join(named, ", "), more)
}

// modelsBelow is err, or a *ModelsBelowError when dirs are found: the
// shallowest first, then by name.
func modelsBelow(err error, where string, dirs []string) error {
	if len(dirs) == 0 {
		return err
	}
	sort.Slice(dirs, func(i, j int) bool {
		return cmp.Or(cmp.Compare(strings.Count(dirs[i], "/"), strings.Count(dirs[j], "/")), cmp.Compare(dirs[i], dirs[j])) < 0
	})
	return &ModelsBelowError{Err: err, Where: where, Dirs: dirs}
}

// localModelsBelow lists the directories under dir, at most below levels
// deep, that hold an MLmodel file, by slash path relative to dir.
func localModelsBelow(dir string) []string {
	var dirs []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable directory is not searched
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() && rel != "." && strings.Count(filepath.ToSlash(rel), "/") >= below {
			return fs.SkipDir
		}
		if !d.IsDir() && d.Name() == MLmodel && filepath.Dir(rel) != "." {
			dirs = append(dirs, filepath.ToSlash(filepath.Dir(rel)))
		}
		return nil
	})
	return dirs
}

// s3ModelsBelow lists the prefixes under loc, at most below levels deep,
// that hold an MLmodel object, relative to loc. It reads at most MaxFiles
// keys, and nothing when listing is not allowed.
func s3ModelsBelow(ctx context.Context, client S3, loc Location) []string {
	var dirs []string
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &loc.Bucket, Prefix: aws.String(loc.Prefix + "/")})
	for read := 0; pages.HasMorePages() && read < MaxFiles; {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return dirs
		}
		for _, obj := range page.Contents {
			read++
			name := strings.TrimPrefix(aws.ToString(obj.Key), loc.Prefix+"/")
			if d, ok := strings.CutSuffix(name, "/"+MLmodel); ok && d != "" && strings.Count(d, "/") < below {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

func getObject(ctx context.Context, client S3, bucket, key, to string) (int64, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(to)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, out.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// s3Error says what S3's answer means for the model.
func s3Error(bucket, key string, err error) error {
	where := "s3://" + bucket + "/" + key
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("%s: %w", where, err)
	}
	switch api.ErrorCode() {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%s does not exist (S3 404 %s): %w", where, api.ErrorCode(), ErrNotFound)
	case "NoSuchBucket":
		return fmt.Errorf("%s: bucket %s does not exist (S3 404 NoSuchBucket): %w", where, bucket, ErrNotFound)
	case "AccessDenied", "Forbidden":
		return fmt.Errorf("%s: access denied (S3 403 %s): the credentials need s3:GetObject and s3:ListBucket on %s (without ListBucket, S3 answers 403 for a missing key too)", where, api.ErrorCode(), bucket)
	case "PermanentRedirect", "AuthorizationHeaderMalformed":
		return fmt.Errorf("%s: bucket %s is in another region (S3 %s): set AWS_REGION to its region", where, bucket, api.ErrorCode())
	}
	return fmt.Errorf("%s: %w", where, err)
}

func copyDir(src, dst string) ([]File, error) {
	if _, err := os.Stat(filepath.Join(src, MLmodel)); errors.Is(err, fs.ErrNotExist) {
		if _, derr := os.Stat(src); derr != nil {
			return nil, fmt.Errorf("%s does not exist: %w", src, ErrNotFound)
		}
		err := fmt.Errorf("%s does not exist: no MLflow model in %s: %w", filepath.Join(src, MLmodel), src, ErrNotFound)
		return nil, modelsBelow(err, src, localModelsBelow(src))
	} else if err != nil {
		return nil, err
	}
	var files []File
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		name, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if len(files) == MaxFiles {
			return fmt.Errorf("%s holds more than %d files: not one model directory", src, MaxFiles)
		}
		n, err := copyFile(p, filepath.Join(dst, name))
		files = append(files, File{Name: filepath.ToSlash(name), Size: n})
		return err
	})
	return files, err
}

func copyFile(from, to string) (int64, error) {
	in, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return 0, err
	}
	out, err := os.Create(to)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// FetchFile copies one file, at loc (an S3 key, or a local path in Dir), to
// the path to, replacing it only once the whole file has arrived. A missing
// file is an error wrapping ErrNotFound. It fetches what a model directory
// refers to from beside it: the course's XGBoost runs keep their
// DictVectorizer apart from the model, as artifacts/preprocessor/preprocessor.b.
func FetchFile(ctx context.Context, client S3, loc Location, to string) (File, error) {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return File{}, err
	}
	tmp := to + ".fetch"
	defer os.Remove(tmp)
	var n int64
	var err error
	if loc.Bucket != "" {
		n, err = getObject(ctx, client, loc.Bucket, loc.Prefix, tmp)
		if err != nil {
			err = s3Error(loc.Bucket, loc.Prefix, err)
		}
	} else {
		n, err = copyFile(loc.Dir, tmp)
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%s does not exist: %w", loc.Dir, ErrNotFound)
		}
	}
	if err != nil {
		return File{}, err
	}
	return File{Name: filepath.Base(to), Size: n}, os.Rename(tmp, to)
}
