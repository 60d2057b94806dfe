package sampler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/mixopt/mixopt/internal/atomicfile"
)

// DefaultBatchRows is the number of rows per record batch Materialise
// writes unless told otherwise.
const DefaultBatchRows = 4096

// MaterialiseOptions tunes Materialise.
type MaterialiseOptions struct {
	// Start is the first stream position written.
	Start int64
	// Examples is the number of positions written; it must be positive.
	Examples int64
	// BatchRows is the number of rows per record batch; zero means
	// DefaultBatchRows. Memory use is proportional to it.
	BatchRows int
	// Progress, if set, is called after each record batch with the rows
	// written so far and the total.
	Progress func(done, total int64)
	// Allocator allocates the Arrow buffers; nil means the Go allocator.
	Allocator memory.Allocator
}

// Stream schema columns, in order.
const (
	colPosition = iota
	colTask
	colExampleID
	colEpoch
	colExampleIndex
	colPrompt
	colChosen
	colRejected
	colResponse
	colTarget
)

// MaterialiseSchema returns the schema of Materialise's files, with cfg's
// provenance as metadata: one row per stream position with the task, the
// example's id, epoch and index within the task, and its content (chosen and
// rejected for pairwise units, response and target otherwise; the others
// null).
func MaterialiseSchema(cfg *Config, start, examples int64) (*arrow.Schema, error) {
	var cfgJSON bytes.Buffer
	if err := cfg.EncodeJSON(&cfgJSON); err != nil {
		return nil, err
	}
	md := arrow.NewMetadata(
		[]string{"mixopt.sampler.schema", "mixopt.sampler.config", "mixopt.sampler.seed", "mixopt.sampler.start", "mixopt.sampler.examples", "mixopt.sampler.config_json"},
		[]string{SchemaVersion, cfg.Fingerprint(), strconv.FormatUint(cfg.Seed, 10), strconv.FormatInt(start, 10), strconv.FormatInt(examples, 10), cfgJSON.String()},
	)
	str := arrow.BinaryTypes.String
	return arrow.NewSchema([]arrow.Field{
		colPosition:     {Name: "position", Type: arrow.PrimitiveTypes.Int64},
		colTask:         {Name: "task", Type: str},
		colExampleID:    {Name: "example_id", Type: str},
		colEpoch:        {Name: "epoch", Type: arrow.PrimitiveTypes.Int64},
		colExampleIndex: {Name: "example_index", Type: arrow.PrimitiveTypes.Int64},
		colPrompt:       {Name: "prompt", Type: str},
		colChosen:       {Name: "chosen", Type: str, Nullable: true},
		colRejected:     {Name: "rejected", Type: str, Nullable: true},
		colResponse:     {Name: "response", Type: str, Nullable: true},
		colTarget:       {Name: "target", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, &md), nil
}

// Materialise writes positions Start … Start+Examples−1 of cfg's stream, with
// the examples' contents from src, to an Arrow IPC file at path (through a
// temporary file and a rename). It streams record batches of BatchRows rows,
// so memory does not grow with Examples. src must hold every task of
// positive probability with the config's example count; check the data
// with Config.Verify first.
func Materialise(ctx context.Context, cfg *Config, src Source, path string, opts MaterialiseOptions) error {
	if opts.Examples <= 0 {
		return fmt.Errorf("materialise %s: examples %d: must be positive", path, opts.Examples)
	}
	if opts.Start < 0 || opts.Start > MaxPosition-opts.Examples {
		return fmt.Errorf("materialise %s: positions %d to %d are out of range", path, opts.Start, opts.Start+opts.Examples)
	}
	batch := opts.BatchRows
	if batch == 0 {
		batch = DefaultBatchRows
	}
	if batch < 0 {
		return fmt.Errorf("materialise %s: batch rows %d: must be positive", path, batch)
	}
	mem := opts.Allocator
	if mem == nil {
		mem = memory.NewGoAllocator()
	}
	stream, err := NewStream(cfg)
	if err != nil {
		return fmt.Errorf("materialise %s: %w", path, err)
	}
	examples := make([]Examples, len(cfg.Tasks))
	for i, t := range cfg.Tasks {
		if t.Probability == 0 {
			continue
		}
		ex, err := src.Task(t.Name)
		if err != nil {
			return fmt.Errorf("materialise %s: %w", path, err)
		}
		if ex.Len() != t.Examples {
			return fmt.Errorf("materialise %s: task %q has %d examples in the data, %d in the config", path, t.Name, ex.Len(), t.Examples)
		}
		examples[i] = ex
	}
	schema, err := MaterialiseSchema(cfg, opts.Start, opts.Examples)
	if err != nil {
		return fmt.Errorf("materialise %s: %w", path, err)
	}
	if _, err := stream.Seek(opts.Start, io.SeekStart); err != nil {
		return fmt.Errorf("materialise %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem))
		if err != nil {
			return err
		}
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		var done int64
		for done < opts.Examples {
			if err := ctx.Err(); err != nil {
				_ = fw.Close()
				return err
			}
			rows := min(int64(batch), opts.Examples-done)
			appendRows(b, stream, cfg, examples, rows)
			rec := b.NewRecordBatch()
			err := fw.Write(rec)
			rec.Release()
			if err != nil {
				_ = fw.Close()
				return err
			}
			done += rows
			if opts.Progress != nil {
				opts.Progress(done, opts.Examples)
			}
		}
		return fw.Close()
	})
}

// appendRows appends the next rows picks of the stream to b.
func appendRows(b *array.RecordBuilder, s *Stream, cfg *Config, examples []Examples, rows int64) {
	position := b.Field(colPosition).(*array.Int64Builder)
	task := b.Field(colTask).(*array.StringBuilder)
	id := b.Field(colExampleID).(*array.StringBuilder)
	epoch := b.Field(colEpoch).(*array.Int64Builder)
	index := b.Field(colExampleIndex).(*array.Int64Builder)
	prompt := b.Field(colPrompt).(*array.StringBuilder)
	chosen := b.Field(colChosen).(*array.StringBuilder)
	rejected := b.Field(colRejected).(*array.StringBuilder)
	response := b.Field(colResponse).(*array.StringBuilder)
	target := b.Field(colTarget).(*array.Float64Builder)
	for range rows {
		p := s.Next()
		ex := examples[p.Task].At(p.Example)
		position.Append(p.Position)
		task.Append(cfg.Tasks[p.Task].Name)
		id.Append(ex.ID)
		epoch.Append(p.Epoch)
		index.Append(p.Example)
		prompt.Append(ex.Prompt)
		if ex.Pairwise {
			chosen.Append(ex.Chosen)
			rejected.Append(ex.Rejected)
			response.AppendNull()
			target.AppendNull()
		} else {
			chosen.AppendNull()
			rejected.AppendNull()
			response.Append(ex.Response)
			target.Append(ex.Target)
		}
	}
}
