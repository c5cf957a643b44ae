package io.signalbox.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** A small table printed twice: aligned for the terminal, and as Markdown to paste. */
final class ResultTable {

  private final String title;
  private final List<String> header;
  private final List<List<String>> rows = new ArrayList<>();

  ResultTable(String title, String... header) {
    this.title = title;
    this.header = List.of(header);
  }

  ResultTable row(Object... cells) {
    List<String> row = new ArrayList<>();
    for (Object cell : cells) {
      row.add(String.valueOf(cell));
    }
    if (row.size() != header.size()) {
      throw new IllegalArgumentException(
          "row has " + row.size() + " cells, header " + header.size());
    }
    rows.add(row);
    return this;
  }

  void print(PrintStream out) {
    int[] widths = new int[header.size()];
    for (int i = 0; i < widths.length; i++) {
      widths[i] = header.get(i).length();
      for (List<String> row : rows) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    StringBuilder text = new StringBuilder();
    text.append('\n').append(title).append('\n');
    appendAligned(text, header, widths);
    StringBuilder rule = new StringBuilder();
    for (int width : widths) {
      rule.append("-".repeat(width)).append("  ");
    }
    text.append(rule.toString().stripTrailing()).append('\n');
    rows.forEach(row -> appendAligned(text, row, widths));
    text.append("\nMarkdown:\n\n");
    text.append("| ").append(String.join(" | ", header)).append(" |\n");
    text.append("|").append("---|".repeat(header.size())).append('\n');
    rows.forEach(row -> text.append("| ").append(String.join(" | ", row)).append(" |\n"));
    out.print(text);
    out.flush();
  }

  private static void appendAligned(StringBuilder text, List<String> cells, int[] widths) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      String cell = cells.get(i);
      // Text left, numbers right.
      boolean numeric = !cell.isEmpty() && (Character.isDigit(cell.charAt(0)) || cell.equals("-"));
      line.append(
              numeric
                  ? " ".repeat(widths[i] - cell.length()) + cell
                  : cell + " ".repeat(widths[i] - cell.length()))
          .append("  ");
    }
    text.append(line.toString().stripTrailing()).append('\n');
  }
}
