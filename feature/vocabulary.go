package feature

import (
	"fmt"
	"strings"
)

// Column names as DictVectorizer writes them.
const (
	KeyPrefix      = "PU_DO="
	DistanceColumn = "trip_distance"
)

// Unseen is the column index of a key the vocabulary does not hold.
const Unseen = -1

// Vocabulary maps a Key to its one-hot column in a DictVectorizer's
// feature_names_, with one array load and no allocation ("feature hashing").
type Vocabulary struct {
	names    []string
	distance int     // column of trip_distance
	maxID    int32   // largest location id in any key
	dense    []int32 // column of Key{PU, DO} at PU*(maxID+1)+DO, or Unseen
}

// NewVocabulary builds the lookup from DictVectorizer's feature_names_:
// "PU_DO=<PU>_<DO>" columns and one "trip_distance" column.
func NewVocabulary(names []string) (*Vocabulary, error) {
	v := &Vocabulary{names: names, distance: -1}
	keys := make([]Key, len(names))
	for i, name := range names {
		if name == DistanceColumn {
			v.distance = i
			continue
		}
		s, ok := strings.CutPrefix(name, KeyPrefix)
		if !ok {
			return nil, fmt.Errorf("vocabulary column %d: unknown feature %q", i, name)
		}
		k, err := ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("vocabulary column %d: %w", i, err)
		}
		keys[i] = k
		v.maxID = max(v.maxID, k.PU, k.DO)
	}
	if v.distance < 0 {
		return nil, fmt.Errorf("vocabulary has no %q column", DistanceColumn)
	}
	if v.maxID > 4096 {
		return nil, fmt.Errorf("vocabulary: location id %d too large for a dense table", v.maxID)
	}
	stride := int(v.maxID) + 1
	v.dense = make([]int32, stride*stride)
	for i := range v.dense {
		v.dense[i] = Unseen
	}
	for i, k := range keys {
		if i == v.distance {
			continue
		}
		at := int(k.PU)*stride + int(k.DO)
		if v.dense[at] != Unseen {
			return nil, fmt.Errorf("vocabulary column %d: key %s repeats column %d", i, k, v.dense[at])
		}
		v.dense[at] = int32(i)
	}
	return v, nil
}

// Dense returns what VocabularyFromDense takes besides the names: the
// column of trip_distance, the largest location id in any key, and the
// dense key → column table. A generator embeds them in the binary, so that
// the program it writes builds nothing at start-up.
func (v *Vocabulary) Dense() (distance int, maxID int32, dense []int32) {
	return v.distance, v.maxID, v.dense
}

// VocabularyFromDense is NewVocabulary with its work done ahead of time:
// distance, maxID and dense as Dense returned them for the same names. It
// checks their sizes only; dense is used as it is (it may be read-only
// memory) and must not be changed.
func VocabularyFromDense(names []string, distance int, maxID int32, dense []int32) (*Vocabulary, error) {
	stride := int(maxID) + 1
	if distance < 0 || distance >= len(names) || names[distance] != DistanceColumn || maxID < 1 || len(dense) != stride*stride {
		return nil, fmt.Errorf("vocabulary: %d names, trip_distance at %d, largest id %d, %d dense cells do not fit together",
			len(names), distance, maxID, len(dense))
	}
	return &Vocabulary{names: names, distance: distance, maxID: maxID, dense: dense}, nil
}

// MustVocabularyFromDense is VocabularyFromDense for generated code, whose
// parts the generator checked.
func MustVocabularyFromDense(names []string, distance int, maxID int32, dense []int32) *Vocabulary {
	v, err := VocabularyFromDense(names, distance, maxID, dense)
	if err != nil {
		panic(err)
	}
	return v
}

// Index returns the column of key k, or Unseen.
func (v *Vocabulary) Index(k Key) int {
	if uint32(k.PU) > uint32(v.maxID) || uint32(k.DO) > uint32(v.maxID) {
		return Unseen
	}
	return int(v.dense[int(k.PU)*(int(v.maxID)+1)+int(k.DO)])
}

// DistanceIndex returns the column of trip_distance.
func (v *Vocabulary) DistanceIndex() int { return v.distance }

// Names returns the columns, as DictVectorizer's feature_names_.
func (v *Vocabulary) Names() []string { return v.names }

// Len is the number of columns.
func (v *Vocabulary) Len() int { return len(v.names) }

// MustVocabulary is NewVocabulary for generated code, whose vocabulary was
// checked when it was generated: it panics on error.
func MustVocabulary(names []string) *Vocabulary {
	v, err := NewVocabulary(names)
	if err != nil {
		panic(err)
	}
	return v
}
