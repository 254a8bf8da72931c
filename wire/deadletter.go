package wire

// DeadLetter is a record of the dead-letter stream: the raw ride record, where
// it came from, and why it was refused.
type DeadLetter struct {
	Reason         string `json:"reason"`
	EventSourceARN string `json:"event_source_arn,omitempty"`
	EventID        string `json:"event_id"`
	SequenceNumber string `json:"sequence_number"`
	// PartitionKey is the refused record's own: a user record's from its
	// aggregate's partition-key table (the Kinesis record's when Kinesis
	// would refuse it as a key: empty, over 256 characters, not UTF-8).
	PartitionKey string `json:"partition_key"`
	// SubSequenceNumber is set when the refused record is a user record of a
	// KPL aggregate: its index in the aggregate (Data is then that user
	// record).
	SubSequenceNumber *int   `json:"sub_sequence_number,omitempty"`
	Data              []byte `json:"data"` // base64 in JSON: the record may not be text
	// Truncated is set when the record was longer than MaxEventBytes: Data
	// then holds its first MaxEventBytes bytes, so that the dead letter fits
	// in one Kinesis record (1 MiB).
	Truncated bool `json:"truncated,omitempty"`
	Size      int  `json:"size"` // of the raw record
}
