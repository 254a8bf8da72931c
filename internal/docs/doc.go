// Package docs keeps README.md and docs/*.md true to the repository: its
// tests fail on a relative link or #anchor that does not resolve (GitHub's
// anchor rules), a make target the Makefile does not have, a predict
// command or flag that predict help does not know, and a diagram that is
// not what its .dot source draws.
package docs
