//! Splitting a document into chunks for retrieval: greedy packing of its
//! tokens into chunks of at most `room` tokens, cut at sentence ends where
//! it can and at token boundaries where a sentence alone is too long
//! (docs/long-inputs.md, Chunks). Pure arithmetic over the document's token
//! byte ranges; the encoder tokenises and embeds.

/// One chunk: its document tokens `first..last` and its byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub first: usize,
    pub last: usize,
    pub start: usize,
    pub end: usize,
}

/// Closing quotes and brackets looked through before a sentence-end mark.
const CLOSERS: &[char] = &['"', '\'', '”', '’', ')', ']', '}', '」', '』', '》', '〉'];
/// At most this many closers are looked through.
const MAX_CLOSERS: usize = 8;

/// Sentence ends of `text` tokenised as `ranges` (token `i` covers bytes
/// `ranges[i]`): every `b` in `1..ranges.len()` with a sentence end before
/// token `b`, in order.
pub(crate) fn sentence_ends(text: &str, ranges: &[(usize, usize)]) -> Vec<usize> {
    let mut ends = Vec::new();
    // First non-whitespace byte at or after a position; positions only grow.
    let mut cursor = 0;
    for b in 1..ranges.len() {
        // Starts never decrease, so the whitespace skipped for an earlier
        // token is never scanned again.
        let gap_start = ranges[b - 1].1;
        cursor = cursor.max(ranges[b].0);
        while let Some(c) = text[cursor..].chars().next().filter(|c| c.is_whitespace()) {
            cursor += c.len_utf8();
        }
        let gap = &text[gap_start..cursor.max(gap_start)];
        if gap.contains(['\n', '\r']) {
            ends.push(b);
            continue;
        }
        let mut before = text[..gap_start].chars().rev();
        let last = before.by_ref().take(MAX_CLOSERS + 1).find(|c| !CLOSERS.contains(c));
        let end = match last {
            Some('.' | '?' | '!' | '…') => !gap.is_empty(),
            Some('。' | '？' | '！') => true,
            _ => false,
        };
        if end {
            ends.push(b);
        }
    }
    ends
}

/// Chunks of `text` (document tokens at byte ranges `ranges`), each of at
/// most `room` tokens (>= 1), consecutive ones sharing up to `overlap`
/// (< room) tokens.
pub(crate) fn plan(text: &str, ranges: &[(usize, usize)], room: usize, overlap: usize) -> Vec<Span> {
    debug_assert!(room >= 1 && overlap < room);
    let len = ranges.len();
    let mut spans = Vec::new();
    if len == 0 || text.trim().is_empty() {
        return spans;
    }
    let ends = sentence_ends(text, ranges);
    let (mut s, mut e_prev) = (0, 0);
    loop {
        let e = if len - s <= room {
            len
        } else {
            let lo = s.max(e_prev);
            // The largest sentence end in (lo, s + room], else s + room.
            let k = ends.partition_point(|&b| b <= s + room);
            match k.checked_sub(1).map(|k| ends[k]) {
                Some(b) if b > lo => b,
                _ => s + room,
            }
        };
        spans.push(span(text, ranges, s, e));
        if e == len {
            return spans;
        }
        s = e.saturating_sub(overlap).max(s + 1);
        e_prev = e;
    }
}

/// The byte range of tokens `first..last`, whitespace trimmed off both ends
/// unless nothing else is left.
fn span(text: &str, ranges: &[(usize, usize)], first: usize, last: usize) -> Span {
    let start = ranges[first].0;
    let end = ranges[last - 1].1.max(start);
    let inner = &text[start..end];
    let trimmed = inner.trim_start();
    let (start, end) = if trimmed.is_empty() {
        (start, end)
    } else {
        let start = start + (inner.len() - trimmed.len());
        (start, start + trimmed.trim_end().len())
    };
    Span { first, last, start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words of `text` as tokens (one per whitespace-separated word).
    fn words(text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            match (start, c.is_whitespace()) {
                (None, false) => start = Some(i),
                (Some(s), true) => {
                    out.push((s, i));
                    start = None
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn sentence_ends_follow_marks_and_line_breaks() {
        let text = "하나. 둘? 셋! 넷…  다섯\n여섯 일곱.\"  여덟 3.14 아홉。열";
        let ranges = words(text);
        let ends = sentence_ends(text, &ranges);
        // After 하나. 둘? 셋! 넷… 다섯(line break) 일곱." ; not after 3.14 (no gap
        // inside a token) or 아홉。 (one token here).
        assert_eq!(ends, vec![1, 2, 3, 4, 5, 7]);
    }

    #[test]
    fn chunks_end_at_sentences_and_cover_the_text_in_order() {
        let text = "가 나 다. 라 마 바 사. 아 자 차 카 타 파 하 거 너.";
        let ranges = words(text);
        let spans = plan(text, &ranges, 5, 0);
        let texts: Vec<&str> = spans.iter().map(|s| &text[s.start..s.end]).collect();
        assert_eq!(texts, vec!["가 나 다.", "라 마 바 사.", "아 자 차 카 타", "파 하 거 너."]);
        // With overlap the next chunk starts `overlap` tokens back.
        let spans = plan(text, &ranges, 5, 2);
        assert_eq!((spans[1].first, spans[1].last), (1, 6));
        assert!(spans.windows(2).all(|w| w[0].last < w[1].last && w[0].first < w[1].first));
    }

    #[test]
    fn empty_and_blank_documents_have_no_chunks() {
        assert!(plan("", &[], 4, 0).is_empty());
        assert!(plan(" \n\t", &[(0, 1)], 4, 0).is_empty());
    }

    #[test]
    fn a_chunk_of_whitespace_only_keeps_its_range() {
        let text = "a  b";
        let spans = plan(text, &[(0, 1), (1, 2), (2, 4)], 1, 0);
        assert_eq!(spans.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(), vec![(0, 1), (1, 2), (3, 4)]);
    }
}
