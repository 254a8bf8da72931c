//go:build !linux

package atomicfs

import "errors"

// exchange is not available: WriteDir renames instead.
func exchange(a, b string) error { return errors.ErrUnsupported }
