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
 * compiler: one instruction per literal byte, character class, {@code .} or assertion; one per
 * alternative and per {@code * + ?}; two per capturing group; a counted repetition {@code x{n,m}}
 * as m copies of x and m - n optional branches. It errs on the high side (RE2 factors common
 * prefixes of alternatives, which this does not), so a regex Envoy would refuse is never let
 * through for its size. Syntax errors are left to the compiler, which runs only on regexes under
 * the limit.
 */
final class RegexProgramSize {

  /** The instructions every program has: the match and the entry. */
  private static final int FIXED = 2;

  /** A negated class or Unicode class compiles to several UTF-8 byte ranges. */
  private static final int WIDE_CLASS = 4;

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
          int end = classEnd(regex, i);
          boolean negated = i + 1 < n && regex.charAt(i + 1) == '^';
          atom(frame, negated ? WIDE_CLASS : 1, cap);
          i = end;
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
          frame.current = Math.min(cap, frame.current + 1);
          frame.lastAtom = Math.min(cap, frame.lastAtom + 1);
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
                    ? atomSize * Math.max(1, counts[0]) + 1
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
    int n = regex.length();
    if (i + 1 >= n) {
      atom(frame, 1, cap);
      return n;
    }
    char kind = regex.charAt(i + 1);
    int next = i + 2;
    if ((kind == 'p' || kind == 'P' || kind == 'x') && next < n && regex.charAt(next) == '{') {
      int close = regex.indexOf('}', next);
      next = close < 0 ? n : close + 1;
    } else if (kind == 'p' || kind == 'P') {
      next = Math.min(n, next + 1);
    } else if (kind == 'x') {
      next = Math.min(n, next + 2);
    }
    boolean wide = kind == 'p' || kind == 'P' || kind == 'D' || kind == 'W' || kind == 'S';
    atom(frame, wide ? WIDE_CLASS : 1, cap);
    return next;
  }

  /**
   * The index after the class that opens at {@code i}: a ']' right after '[' or '[^' is a literal.
   */
  private static int classEnd(String regex, int i) {
    int n = regex.length();
    int j = i + 1;
    if (j < n && regex.charAt(j) == '^') {
      j++;
    }
    if (j < n && regex.charAt(j) == ']') {
      j++;
    }
    while (j < n) {
      char c = regex.charAt(j);
      if (c == '\\') {
        j += 2;
      } else if (c == '[' && j + 1 < n && regex.charAt(j + 1) == ':') {
        int close = regex.indexOf(":]", j + 2);
        j = close < 0 ? j + 1 : close + 2;
      } else if (c == ']') {
        return j + 1;
      } else {
        j++;
      }
    }
    return n;
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
    return String.valueOf(c).getBytes(StandardCharsets.UTF_8).length;
  }
}
