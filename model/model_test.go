package model

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rideduration/rideduration/feature"
)

func TestPredictWithText(t *testing.T) {
	f := feature.Features{Distance: 3.66}
	m := Model{Predict: func(f feature.Features) float64 { return f.Distance * 2 }}
	x, text := m.PredictWithText(f)
	assert.Equal(t, 7.32, x)
	assert.Empty(t, text, "a model without PredictText has no text")

	m.PredictText = func(f feature.Features) (float64, string) { return 7.32, "7.32" }
	x, text = m.PredictWithText(f)
	assert.Equal(t, 7.32, x)
	assert.Equal(t, "7.32", text)
}
