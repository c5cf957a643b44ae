package io.signalbox.registry;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * An estimate of the size of the RE2 program a regular expression compiles to, computed from its
 * text in one pass without compiling it, and stopping as soon as it exceeds a limit.
 *
 * <p>Why: compiling is what costs. RE2/J (like RE2) expands counted repetitions, so {@code
 * ((a{1000}){1000}){1000}} — 24 bytes — takes gigabytes and minutes to compile, while Envoy refuses
 * any program over its limit (100 instructions by default) anyway. The estimate follows RE2's
 * compiler: one instruction per literal byte, {@code .} or assertion; one per byte range of a
 * character class; one per alternative and per {@code ?}, two per {@code *} or {@code +} (the
 * branch, and the jump back to the loop's head RE2 adds when it flattens the program: {@code
 * a+b+c+d+e+f+g+h+i+j+} measured 33); two per capturing group; a counted repetition {@code x{n,m}}
 * as m copies of x and m - n optional branches; and the unanchored search's loop besides the match
 * and the entry. It errs on the high side (RE2 factors common prefixes of alternatives and merges a
 * class's overlapping ranges, which this does not), so a regex Envoy would refuse is never let
 * through for its size. Syntax errors are left to the compiler, which runs only on regexes under
 * the limit.
 *
 * <p>A class costs the byte ranges of its items added up (a union has no more ranges than its
 * parts), one more when negated (a complement has at most one range more). Items whose set is
 * scattered cost at least what Envoy 1.40 measured for them: a Unicode category or script ({@code
 * \pL}, {@code \P{Greek}}) {@value #UNICODE_CLASS} ranges ({@code \PS} measured 16, {@code \pL} 7),
 * a negated Perl class ({@code \W \D \S}) {@value #NEGATED_PERL_CLASS} ({@code \W} measured 5);
 * inside a class or outside it alike.
 */
final class RegexProgramSize {

  /**
   * The instructions every program has: the match, the entry and the unanchored search's {@code
   * .*?} loop (Envoy 1.40 measured 5 for {@code a}).
   */
  private static final int FIXED = 4;

  /** {@code .} and a negated class at the least: byte ranges around what they leave out. */
  private static final int WIDE_CLASS = 4;

  /** A Unicode category or script, {@code \p{..}} or {@code \P{..}}: a set of scattered ranges. */
  private static final int UNICODE_CLASS = 16;

  /**
   * A negated Perl class {@code \W \D \S}: the gaps around {@code \w \d \s}, with room to spare.
   */
  private static final int NEGATED_PERL_CLASS = 8;

  /** A POSIX class {@code [:name:]} or {@code [:^name:]}: {@code [:^punct:]} has 5 ranges. */
  private static final int POSIX_CLASS = 5;

  private static final int MAX_REPEAT = 1000;

  private RegexProgramSize() {}

  /**
   * One parenthesized group (or the whole regex) being read: its finished alternatives and the
   * current one.
   */
  private static final class Frame {
    final boolean capturing;
    long alternatives;
    long current;
    long lastAtom;
    int branches = 1;

    Frame(boolean capturing) {
      this.capturing = capturing;
    }

    long size() {
      return alternatives + current + (branches - 1) + (capturing ? 2 : 0);
    }
  }

  /**
   * The estimated program size of {@code regex}, or a number above {@code limit} as soon as the
   * estimate exceeds it (the exact figure is not computed then).
   */
  static long estimate(String regex, int limit) {
    long cap = (long) limit + 1;
    Deque<Frame> stack = new ArrayDeque<>();
    Frame frame = new Frame(false);
    int i = 0;
    int n = regex.length();
    while (i < n) {
      if (total(stack, frame) >= cap) {
        return cap;
      }
      char c = regex.charAt(i);
      switch (c) {
        case '\\' -> {
          if (i + 1 < n && regex.charAt(i + 1) == 'Q') {
            int end = regex.indexOf("\\E", i + 2);
            String quoted = regex.substring(i + 2, end < 0 ? n : end);
            for (int q = 0; q < quoted.length(); q++) {
              atom(frame, utf8Length(quoted.charAt(q)), cap);
            }
            i = end < 0 ? n : end + 2;
            continue;
          }
          i = escape(regex, i, frame, cap);
          continue;
        }
        case '[' -> {
          long[] priced = characterClass(regex, i);
          atom(frame, priced[1], cap);
          i = (int) priced[0];
          continue;
        }
        case '(' -> {
          boolean capturing = true;
          if (i + 1 < n && regex.charAt(i + 1) == '?') {
            int close = regex.indexOf(')', i);
            int colon = regex.indexOf(':', i);
            boolean named = regex.startsWith("(?P<", i) || regex.startsWith("(?<", i);
            if (!named && close >= 0 && (colon < 0 || close < colon)) {
              i = close + 1; // (?flags): no group
              continue;
            }
            capturing = named;
            i = named ? Math.max(regex.indexOf('>', i), i) + 1 : colon + 1;
          } else {
            i++;
          }
          stack.push(frame);
          frame = new Frame(capturing);
          continue;
        }
        case ')' -> {
          if (!stack.isEmpty()) {
            long size = frame.size();
            frame = stack.pop();
            atom(frame, size, cap);
          }
        }
        case '|' -> {
          frame.alternatives = Math.min(cap, frame.alternatives + frame.current);
          frame.current = 0;
          frame.lastAtom = 0;
          frame.branches++;
        }
        case '*', '+', '?' -> {
          int loop = c == '?' ? 1 : 2;
          frame.current = Math.min(cap, frame.current + loop);
          frame.lastAtom = Math.min(cap, frame.lastAtom + loop);
          if (i + 1 < n && regex.charAt(i + 1) == '?') {
            i++;
          }
        }
        case '{' -> {
          int end = regex.indexOf('}', i);
          int[] counts = end < 0 ? null : repeatCounts(regex.substring(i + 1, end));
          if (counts == null) {
            atom(frame, 1, cap); // not a repetition: a literal '{'
          } else {
            long atomSize = frame.lastAtom;
            long repeated =
                counts[1] < 0
                    ? atomSize * Math.max(1, counts[0]) + 2
                    : atomSize * counts[1] + (counts[1] - counts[0]);
            frame.current = Math.min(cap, frame.current - atomSize + Math.min(cap, repeated));
            frame.lastAtom = Math.min(cap, repeated);
            i = end + 1;
            if (i < n && regex.charAt(i) == '?') {
              i++;
            }
            continue;
          }
        }
        case '.' -> atom(frame, WIDE_CLASS, cap);
        default -> atom(frame, utf8Length(c), cap);
      }
      i++;
    }
    while (!stack.isEmpty()) { // unbalanced: the compiler will say so
      long size = frame.size();
      frame = stack.pop();
      atom(frame, size, cap);
    }
    return Math.min(cap, frame.size() + FIXED);
  }

  /**
   * Refuses {@code regex}, naming {@code field}, when its estimate exceeds {@code limit} (the
   * operator's limits.maxRegexProgramSize).
   */
  static void check(String field, String regex, int limit) {
    check(field, "'" + Fields.abbreviate(regex) + "'", regex, limit);
  }

  /**
   * {@link #check(String, String, int)} for a regex made from the field's value, which {@code
   * subject} describes (it is the message's subject).
   */
  static void check(String field, String subject, String regex, int limit) {
    long size = estimate(regex, limit);
    Fields.check(
        size <= limit,
        field,
        subject
            + " compiles to "
            + (size > limit ? "more than " + limit : size)
            + " RE2 instructions; Envoy accepts at most "
            + limit
            + " (limits.maxRegexProgramSize)");
  }

  private static void atom(Frame frame, long size, long cap) {
    frame.current = Math.min(cap, frame.current + size);
    frame.lastAtom = Math.min(cap, size);
  }

  private static long total(Deque<Frame> stack, Frame frame) {
    long total = frame.size();
    for (Frame outer : stack) {
      total += outer.size();
    }
    return total;
  }

  /** Reads an escape at {@code i}; returns the index after it. */
  private static int escape(String regex, int i, Frame frame, long cap) {
    atom(frame, escapeRanges(regex, i), cap);
    return escapeEnd(regex, i);
  }

  /** The index after the escape at {@code i}. */
  private static int escapeEnd(String regex, int i) {
    int n = regex.length();
    if (i + 1 >= n) {
      return n;
    }
    char kind = regex.charAt(i + 1);
    int next = i + 2;
    if ((kind == 'p' || kind == 'P' || kind == 'x') && next < n && regex.charAt(next) == '{') {
      int close = regex.indexOf('}', next);
      return close < 0 ? n : close + 1;
    } else if (kind == 'p' || kind == 'P') {
      return Math.min(n, next + 1);
    } else if (kind == 'x') {
      return Math.min(n, next + 2);
    }
    return next;
  }

  /**
   * The byte ranges (one instruction each) of the escape at {@code i}, in a class or out of one: a
   * single character is one, a class as many ranges as its set can have.
   */
  private static int escapeRanges(String regex, int i) {
    if (i + 1 >= regex.length()) {
      return 1;
    }
    return switch (regex.charAt(i + 1)) {
      case 'p', 'P' -> UNICODE_CLASS;
      case 'W', 'D', 'S' -> NEGATED_PERL_CLASS;
      case 'w' -> 4; // 0-9 A-Z _ a-z
      case 's' -> 3; // \t-\n \f-\r space
      default -> 1;
    };
  }

  /**
   * Prices the class that opens at {@code i}: returns the index after it and its byte ranges, those
   * of its items added up, one more when negated. A ']' right after '[' or '[^' is a literal.
   */
  private static long[] characterClass(String regex, int i) {
    int n = regex.length();
    int j = i + 1;
    boolean negated = j < n && regex.charAt(j) == '^';
    if (negated) {
      j++;
    }
    long ranges = 0;
    boolean first = true;
    while (j < n) {
      char c = regex.charAt(j);
      if (c == ']' && !first) {
        j++;
        break;
      }
      first = false;
      if (c == '[' && j + 1 < n && regex.charAt(j + 1) == ':') {
        int close = regex.indexOf(":]", j + 2);
        if (close >= 0) {
          ranges += POSIX_CLASS;
          j = close + 2;
          continue;
        }
      }
      int itemRanges;
      boolean single;
      if (c == '\\') {
        single = j + 1 >= n || "pPwWdDsS".indexOf(regex.charAt(j + 1)) < 0;
        itemRanges = escapeRanges(regex, j);
        j = escapeEnd(regex, j);
      } else {
        single = true;
        itemRanges = utf8Length(c);
        j++;
      }
      if (single && j + 1 < n && regex.charAt(j) == '-' && regex.charAt(j + 1) != ']') {
        char high = regex.charAt(j + 1);
        // Envoy's RE2 reads a character of several bytes byte by byte: é-ü is Ã, ©-Ã and ¼.
        itemRanges += high == '\\' ? 0 : utf8Length(high) - 1;
        j = high == '\\' ? escapeEnd(regex, j + 1) : j + 2;
      }
      ranges += itemRanges;
    }
    long size = negated ? Math.max(WIDE_CLASS, ranges + 1) : Math.max(1, ranges);
    return new long[] {Math.min(j, n), size};
  }

  /**
   * {n}, {n,} or {n,m} as {n, m} ({n, -1} for no maximum); null when the text is not a repetition.
   */
  private static int[] repeatCounts(String body) {
    int comma = body.indexOf(',');
    String min = comma < 0 ? body : body.substring(0, comma);
    String max = comma < 0 ? body : body.substring(comma + 1);
    if (!isCount(min) || !(max.isEmpty() && comma >= 0 || isCount(max))) {
      return null;
    }
    int low = Integer.parseInt(min);
    int high = max.isEmpty() ? -1 : Integer.parseInt(max);
    if (low > MAX_REPEAT || high > MAX_REPEAT) {
      return new int[] {
        MAX_REPEAT, MAX_REPEAT
      }; // the compiler refuses it; priced at the most it could cost
    }
    return new int[] {low, high};
  }

  private static boolean isCount(String text) {
    return !text.isEmpty() && text.length() <= 4 && text.chars().allMatch(Character::isDigit);
  }

  private static int utf8Length(char c) {
    // Half of a character outside the BMP, which is 4 bytes.
    return Character.isSurrogate(c) ? 2 : String.valueOf(c).getBytes(StandardCharsets.UTF_8).length;
  }
}
