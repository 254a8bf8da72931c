package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/rideduration/rideduration/internal/atomicfs"
)

// ErrFault is the error FaultFS injects.
var ErrFault = errors.New("injected fault")

// FaultFS is atomicfs.OS failing its FailAt-th operation, from 1 (0: none):
// an open, mkdir, rename, link, exchange or directory sync, or a file's
// write, sync or close. The failing write writes the first half of its
// bytes; the failing close closes the file. Remove never fails: it is how
// a failure is cleaned up. Ops lists the operations done or tried, in
// order. With NoExchange, Exchange is unsupported, as on a system without
// it.
//
// It stands in for faults no real file system gives on demand: a write,
// an fsync or a rename failing at a chosen step.
type FaultFS struct {
	FailAt     int
	NoExchange bool
	Ops        []string
}

// step records an operation and tells whether it is the one to fail.
func (f *FaultFS) step(op, name string) error {
	f.Ops = append(f.Ops, op+" "+name)
	if len(f.Ops) == f.FailAt {
		return &fs.PathError{Op: op, Path: name, Err: ErrFault}
	}
	return nil
}

// Failed is the operation that failed, or "".
func (f *FaultFS) Failed() string {
	if f.FailAt == 0 || f.FailAt > len(f.Ops) {
		return ""
	}
	return f.Ops[f.FailAt-1]
}

func (f *FaultFS) OpenFile(name string, flag int, perm fs.FileMode) (atomicfs.FileWriter, error) {
	if err := f.step("open", name); err != nil {
		return nil, err
	}
	w, err := atomicfs.OS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{fs: f, name: name, w: w}, nil
}

func (f *FaultFS) Mkdir(name string, perm fs.FileMode) error {
	if err := f.step("mkdir", name); err != nil {
		return err
	}
	return atomicfs.OS.Mkdir(name, perm)
}

func (f *FaultFS) Rename(oldpath, newpath string) error {
	if err := f.step("rename", oldpath+" "+newpath); err != nil {
		return err
	}
	return atomicfs.OS.Rename(oldpath, newpath)
}

func (f *FaultFS) Link(oldname, newname string) error {
	if err := f.step("link", oldname+" "+newname); err != nil {
		return err
	}
	return atomicfs.OS.Link(oldname, newname)
}

func (f *FaultFS) Exchange(a, b string) error {
	if f.NoExchange {
		return errors.ErrUnsupported
	}
	if err := f.step("exchange", a+" "+b); err != nil {
		return err
	}
	return atomicfs.OS.Exchange(a, b)
}

func (f *FaultFS) SyncDir(name string) error {
	if err := f.step("syncdir", name); err != nil {
		return err
	}
	return atomicfs.OS.SyncDir(name)
}

func (f *FaultFS) Remove(name string) error { return atomicfs.OS.Remove(name) }

// faultFile is a file of a FaultFS.
type faultFile struct {
	fs   *FaultFS
	name string
	w    atomicfs.FileWriter
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.step(fmt.Sprintf("write %d bytes to", len(p)), f.name); err != nil {
		n, _ := f.w.Write(p[:len(p)/2])
		return n, err
	}
	return f.w.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.step("sync", f.name); err != nil {
		return err
	}
	return f.w.Sync()
}

func (f *faultFile) Close() error {
	err := f.fs.step("close", f.name)
	if cerr := f.w.Close(); err == nil {
		err = cerr
	}
	return err
}

// Committed is the number of operations up to the last rename or exchange:
// a failure after them finds the outputs in place.
func (f *FaultFS) Committed() int {
	n := 0
	for i, op := range f.Ops {
		if strings.HasPrefix(op, "rename ") || strings.HasPrefix(op, "exchange ") {
			n = i + 1
		}
	}
	return n
}
