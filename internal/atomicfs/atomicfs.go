// Package atomicfs writes outputs whole or not at all. A file is written
// beside its path under a hidden temporary name, synced, and renamed into
// place; several files are put in place together, the earlier ones put back
// if a later one fails; a directory of files is written beside its path,
// synced, and swapped in. A failure at any step leaves every path with what
// it held and removes what was written.
//
// The operations go through an FS, the file system (OS) or a test's, which
// can fail any one of them.
package atomicfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// FS is the operations that change the file system, each of which can
// fail.
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (FileWriter, error)
	Mkdir(name string, perm fs.FileMode) error
	Rename(oldpath, newpath string) error
	Link(oldname, newname string) error
	// Exchange swaps the paths a and b, both of which exist, in one step;
	// errors.ErrUnsupported where the system cannot.
	Exchange(a, b string) error
	// SyncDir syncs a directory: the names in it, created or renamed.
	SyncDir(name string) error
	Remove(name string) error
}

// FileWriter is a file open for writing.
type FileWriter interface {
	io.Writer
	Sync() error
	Close() error
}

// OS is the file system.
var OS FS = osFS{}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (FileWriter, error) {
	return os.OpenFile(name, flag, perm)
}
func (osFS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }
func (osFS) Rename(oldpath, newpath string) error      { return os.Rename(oldpath, newpath) }
func (osFS) Link(oldname, newname string) error        { return os.Link(oldname, newname) }
func (osFS) Exchange(a, b string) error                { return exchange(a, b) }
func (osFS) Remove(name string) error                  { return os.Remove(name) }

func (osFS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// hidden is a fresh name beside path: .BASE.RANDOM.ext.
func hidden(path, ext string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64(), 36)+"."+ext)
}

// namePath makes err, from an operation on a temporary name, name path:
// the temporary name means nothing to the user.
func namePath(err error, path string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = path
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// File is a file written beside its path: Close makes it whole (synced),
// Commit puts it in place, Abort removes it. Until Commit, the path keeps
// what it held.
type File struct {
	fs     FS
	w      FileWriter
	tmp    string
	path   string
	closed bool
}

// Create creates a File for path, with the permissions os.Create gives.
func Create(fsys FS, path string) (*File, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory: name a file", path)
	}
	for {
		tmp := hidden(path, "tmp")
		w, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, namePath(err, path)
		}
		return &File{fs: fsys, w: w, tmp: tmp, path: path}, nil
	}
}

// Path is the path the file is for.
func (f *File) Path() string { return f.path }

func (f *File) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		err = namePath(err, f.path)
	}
	return n, err
}

// Close syncs and closes the file: it is whole, beside its path. On an
// error it is removed.
func (f *File) Close() error {
	f.closed = true
	err := f.w.Sync()
	if cerr := f.w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		f.fs.Remove(f.tmp)
		return namePath(err, f.path)
	}
	return nil
}

// Abort closes and removes the file: its path is left as it was.
func (f *File) Abort() {
	if !f.closed {
		f.closed = true
		f.w.Close()
	}
	f.fs.Remove(f.tmp)
}

// Commit closes the files that are not closed and renames them to their
// paths, in order, then syncs their directories. If one fails, the files
// already renamed are put back as they were (a link kept each path's file
// until the end) and the others removed: every path keeps what it held. A
// failure to sync a directory, once every file is in place, is returned
// with the files in place.
func Commit(files ...*File) error {
	abort := func(from int) {
		for _, f := range files[from:] {
			f.Abort()
		}
	}
	for i, f := range files {
		if !f.closed {
			if err := f.Close(); err != nil {
				abort(i + 1)
				return err
			}
		}
	}
	// The last file needs no copy: when its rename fails, its path is as
	// it was.
	kept := make([]string, len(files))
	unkeep := func() {
		for _, k := range kept {
			if k != "" {
				files[0].fs.Remove(k)
			}
		}
	}
	for i, f := range files[:max(len(files)-1, 0)] {
		k := hidden(f.path, "old")
		err := f.fs.Link(f.path, k)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			unkeep()
			abort(0)
			return fmt.Errorf("%s: keeping the file it replaces until the end: %w", f.path, err)
		}
		kept[i] = k
	}
	for i, f := range files {
		if err := f.fs.Rename(f.tmp, f.path); err != nil {
			for j := i - 1; j >= 0; j-- {
				if kept[j] != "" {
					files[j].fs.Rename(kept[j], files[j].path)
					kept[j] = ""
				} else {
					files[j].fs.Remove(files[j].path)
				}
			}
			unkeep()
			abort(i)
			return namePath(err, f.path)
		}
	}
	unkeep()
	synced := map[string]bool{}
	for _, f := range files {
		dir := filepath.Dir(f.path)
		if synced[dir] {
			continue
		}
		synced[dir] = true
		if err := f.fs.SyncDir(dir); err != nil {
			return fmt.Errorf("%s written, but its directory not synced: %w", f.path, err)
		}
	}
	return nil
}
