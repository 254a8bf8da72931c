package atomicfs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rideduration/rideduration/internal/atomicfs"
	"github.com/rideduration/rideduration/internal/testenv"
)

// A File is written beside its path, which keeps its content until Commit
// and after Abort; it gets the permissions os.Create gives.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))

	f, err := atomicfs.Create(atomicfs.OS, path)
	require.NoError(t, err)
	assert.Equal(t, path, f.Path())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Regexp(t, `^\.bad\.csv\.[0-9a-z]+\.tmp$`, entries[0].Name(), "beside its path, hidden: a rename, not a copy")
	_, err = f.Write([]byte("new"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, "old", testenv.Files(t, dir)["bad.csv"], "before Commit")
	require.NoError(t, atomicfs.Commit(f))
	assert.Equal(t, map[string]string{"bad.csv": "new"}, testenv.Files(t, dir))

	f, err = atomicfs.Create(atomicfs.OS, path)
	require.NoError(t, err)
	_, err = f.Write([]byte("newer"))
	require.NoError(t, err)
	f.Abort()
	assert.Equal(t, map[string]string{"bad.csv": "new"}, testenv.Files(t, dir))

	plain := filepath.Join(t.TempDir(), "plain")
	pf, err := os.Create(plain)
	require.NoError(t, err)
	require.NoError(t, pf.Close())
	f, err = atomicfs.Create(atomicfs.OS, filepath.Join(dir, "fresh.csv"))
	require.NoError(t, err)
	require.NoError(t, atomicfs.Commit(f), "atomicfs.Commit closes a file not closed")
	want, err := os.Stat(plain)
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(dir, "fresh.csv"))
	require.NoError(t, err)
	assert.Equal(t, want.Mode(), st.Mode())

	_, err = atomicfs.Create(atomicfs.OS, t.TempDir())
	assert.ErrorContains(t, err, " is a directory: name a file")
	_, err = atomicfs.Create(atomicfs.OS, filepath.Join(dir, "no", "out.csv"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, filepath.Join(dir, "no", "out.csv"), "the path, not the temporary name")
}

// Files committed together are put in place together: when the last cannot
// be (its path is a directory that appeared meanwhile), the first is put
// back as it was, and nothing is left beside them.
func TestCommitPutsBack(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(a, []byte("old a"), 0o644))
	fa, err := atomicfs.Create(atomicfs.OS, a)
	require.NoError(t, err)
	fb, err := atomicfs.Create(atomicfs.OS, b)
	require.NoError(t, err)
	for _, f := range []*atomicfs.File{fa, fb} {
		_, err := f.Write([]byte("new"))
		require.NoError(t, err)
	}
	require.NoError(t, os.Mkdir(b, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(b, "x"), nil, 0o644))
	assert.Error(t, atomicfs.Commit(fa, fb))
	assert.Equal(t, map[string]string{"a": "old a", "b": "dir/"}, testenv.Files(t, dir))

	// A path that held nothing holds nothing again.
	require.NoError(t, os.Remove(a))
	c := filepath.Join(dir, "c")
	fa, err = atomicfs.Create(atomicfs.OS, a)
	require.NoError(t, err)
	fc, err := atomicfs.Create(atomicfs.OS, c)
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(c, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(c, "x"), nil, 0o644))
	assert.Error(t, atomicfs.Commit(fa, fc))
	assert.Equal(t, map[string]string{"b": "dir/", "c": "dir/"}, testenv.Files(t, dir))
}

// WriteDir replaces a directory holding only its files, follows a link to
// it, and refuses one holding anything else, or a file.
func TestWriteDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "sub", "report")
	require.NoError(t, atomicfs.WriteDir(atomicfs.OS, dir, atomicfs.DirFile{"a", []byte("1")}, atomicfs.DirFile{"b", []byte("2")}))
	assert.Equal(t, map[string]string{"a": "1", "b": "2"}, testenv.Files(t, dir), "parents created")
	plain := filepath.Join(parent, "plain")
	require.NoError(t, os.MkdirAll(plain, 0o755))
	want, err := os.Stat(plain)
	require.NoError(t, err)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, want.Mode(), st.Mode(), "the permissions os.MkdirAll gives")

	link := filepath.Join(parent, "link")
	require.NoError(t, os.Symlink(dir, link))
	require.NoError(t, atomicfs.WriteDir(atomicfs.OS, link, atomicfs.DirFile{"a", []byte("3")}, atomicfs.DirFile{"b", []byte("4")}))
	assert.Equal(t, map[string]string{"a": "3", "b": "4"}, testenv.Files(t, dir), "through the link, which stays one")
	lst, err := os.Lstat(link)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, lst.Mode().Type())
	assert.Equal(t, map[string]string{"report": "dir/"}, testenv.Files(t, filepath.Dir(dir)), "nothing beside it")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644))
	err = atomicfs.WriteDir(atomicfs.OS, dir, atomicfs.DirFile{"a", []byte("5")}, atomicfs.DirFile{"b", []byte("6")})
	assert.EqualError(t, err, dir+" holds notes.txt, which is not one of its files (a, b): name a new or empty directory, or one holding only these")
	assert.Equal(t, err, atomicfs.CheckDir(dir, "a", "b"))
	assert.Equal(t, map[string]string{"a": "3", "b": "4", "notes.txt": "mine"}, testenv.Files(t, dir))

	// The working directory has a parent to write beside it in.
	require.NoError(t, os.Remove(filepath.Join(dir, "notes.txt")))
	t.Chdir(dir)
	require.NoError(t, atomicfs.WriteDir(atomicfs.OS, ".", atomicfs.DirFile{"a", []byte("7")}, atomicfs.DirFile{"b", []byte("8")}))
	assert.Equal(t, map[string]string{"a": "7", "b": "8"}, testenv.Files(t, dir))
	assert.Equal(t, map[string]string{"report": "dir/"}, testenv.Files(t, filepath.Dir(dir)))

	err = atomicfs.CheckDir(filepath.Join(dir, "a"), "a")
	assert.EqualError(t, err, filepath.Join(dir, "a")+" is not a directory")
}
