package atomicfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DirFile is a file of a directory WriteDir writes.
type DirFile struct {
	Name string
	Data []byte
}

// CheckDir checks that WriteDir can replace dir with files of the names:
// dir is missing, or a directory holding no other file.
func CheckDir(dir string, names ...string) error {
	_, err := target(dir, names)
	return err
}

// target is the directory WriteDir replaces (dir, its links followed, as
// an absolute path: "." has a parent to write beside it in), or why it
// cannot.
func target(dir string, names []string) (string, error) {
	real, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		real, err = dir, nil
	}
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return "", err
	}
	if _, err := os.Lstat(real); errors.Is(err, fs.ErrNotExist) {
		return real, nil
	}
	entries, err := os.ReadDir(real)
	if err != nil {
		if st, serr := os.Stat(real); serr == nil && !st.IsDir() {
			return "", fmt.Errorf("%s is not a directory", dir)
		}
		return "", err
	}
	for _, e := range entries {
		if !slices.Contains(names, e.Name()) || !e.Type().IsRegular() {
			return "", fmt.Errorf("%s holds %s, which is not one of its files (%s): name a new or empty directory, or one holding only these",
				dir, e.Name(), strings.Join(names, ", "))
		}
	}
	return real, nil
}

// WriteDir makes dir hold files and nothing else, creating its parent if
// missing. The files are written into a new directory beside dir and synced,
// then it takes dir's place: swapped with it in one step where the system
// can (Linux), else dir renamed away and the new one renamed in. A reader
// sees the old files or the new ones, never a mix. On a failure dir is as it
// was and the new directory removed. dir, when it exists, must hold only
// files of those names (CheckDir): they are removed with it.
func WriteDir(fsys FS, dir string, files ...DirFile) error {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	real, err := target(dir, names)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		return err
	}
	tmp, err := mkdirBeside(fsys, real)
	if err != nil {
		return namePath(err, dir)
	}
	if err := writeFiles(fsys, tmp, files); err != nil {
		removeDir(fsys, tmp, names)
		return namePath(err, dir)
	}
	old := ""
	if _, err := os.Stat(real); err == nil {
		old, err = swap(fsys, tmp, real)
		if err != nil {
			removeDir(fsys, tmp, names)
			return namePath(err, dir)
		}
	} else if err := fsys.Rename(tmp, real); err != nil {
		removeDir(fsys, tmp, names)
		return namePath(err, dir)
	}
	err = fsys.SyncDir(filepath.Dir(real))
	if old != "" {
		removeDir(fsys, old, names)
	}
	if err != nil {
		return fmt.Errorf("%s written, but its parent directory not synced: %w", dir, err)
	}
	return nil
}

// mkdirBeside creates a new directory beside path, with the permissions
// os.MkdirAll(path, 0o755) gives.
func mkdirBeside(fsys FS, path string) (string, error) {
	for {
		tmp := hidden(path, "tmp")
		err := fsys.Mkdir(tmp, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return tmp, err
	}
}

// writeFiles writes and syncs the files in dir, and syncs dir.
func writeFiles(fsys FS, dir string, files []DirFile) error {
	for _, f := range files {
		w, err := fsys.OpenFile(filepath.Join(dir, f.Name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_, err = w.Write(f.Data)
		if err == nil {
			err = w.Sync()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return fsys.SyncDir(dir)
}

// swap puts the directory tmp in the place of the directory path, and
// returns where path's directory is now.
func swap(fsys FS, tmp, path string) (old string, err error) {
	err = fsys.Exchange(tmp, path)
	if err == nil {
		return tmp, nil
	}
	if !errors.Is(err, errors.ErrUnsupported) {
		return "", err
	}
	old = hidden(path, "old")
	if err := fsys.Rename(path, old); err != nil {
		return "", err
	}
	if err := fsys.Rename(tmp, path); err != nil {
		fsys.Rename(old, path)
		return "", err
	}
	return old, nil
}

// removeDir removes the directory dir, which holds files of the names.
func removeDir(fsys FS, dir string, names []string) {
	for _, n := range names {
		fsys.Remove(filepath.Join(dir, n))
	}
	fsys.Remove(dir)
}
