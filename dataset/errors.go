package dataset

import (
	"strconv"
	"strings"
)

// Error is a problem with a data file. Every loader and Tasks report data
// problems as *Error, so callers can recover the location with errors.As.
//
// Error() reads `path:line: field "x": msg`, where the line part is omitted
// for problems with the whole file (Line 0), reads `path:row N` for Arrow and
// Parquet files, and the field part is omitted when no single field is at
// fault.
type Error struct {
	// Path is the file at fault.
	Path string
	// Line is the 1-based line of a JSON Lines file or, when Row is set, the
	// 1-based row of an Arrow or Parquet file; 0 when the whole file is at
	// fault.
	Line int
	// Row says that Line counts table rows rather than text lines.
	Row bool
	// Field is the field (column) at fault, or "".
	Field string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying cause, if any (an I/O or decoding error).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteByte(':')
		if e.Row {
			b.WriteString("row ")
		}
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(`: field "`)
		b.WriteString(e.Field)
		b.WriteByte('"')
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause, so that errors.Is sees, for example,
// fs.ErrNotExist through a failed open.
func (e *Error) Unwrap() error { return e.Err }

// origin records where each row of a dataset was read from, so that errors
// found after loading (an unknown label at task time) still name the file and
// line.
type origin struct {
	// lines[i] is the line (or row) that row i came from.
	lines []int
	// rows says that lines counts table rows (Arrow, Parquet).
	rows bool
}

// errAt returns an *Error for row i of d. Datasets built in code have no origin;
// their rows are numbered from 1 in slice order.
func (d *Dataset) errAt(i int, field, msg string) *Error {
	line, rows := i+1, true
	if i < len(d.origin.lines) {
		line, rows = d.origin.lines[i], d.origin.rows
	}
	path := d.Path
	if path == "" {
		path = d.Name
	}
	return &Error{Path: path, Line: line, Row: rows, Field: field, Msg: msg}
}

// where formats a line or row reference for messages that point at a second
// place, such as the first occurrence of a duplicate id.
func where(line int, rows bool) string {
	if rows {
		return "row " + strconv.Itoa(line)
	}
	return "line " + strconv.Itoa(line)
}
