package io.signalbox.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PathMatchWithinTest {

  @Test
  void aPrefixOrExactPathIsWithinAPrefixSegmentBySegment() {
    assertThat(PathMatch.prefix("/users").within("/users")).isTrue();
    assertThat(PathMatch.prefix("/users/admin").within("/users")).isTrue();
    assertThat(PathMatch.exact("/users/1").within("/users")).isTrue();
    assertThat(PathMatch.prefix("/usersx").within("/users")).isFalse();
    assertThat(PathMatch.prefix("/").within("/users")).isFalse();
    assertThat(PathMatch.prefix("/anything").within("/")).isTrue();
  }

  @Test
  void aRegexIsWithinAPrefixOnlyWhenItsLiteralBeginningIs() {
    assertThat(PathMatch.regex("/users/[0-9]+").within("/users")).isTrue();
    assertThat(PathMatch.regex("/.*").within("/users")).isFalse();
    assertThat(PathMatch.regex("/users.*").within("/users")).isFalse();
    assertThat(PathMatch.regex("/users/a|/admin").within("/users")).isFalse();
    assertThat(PathMatch.regex("/users/(a|b)").within("/users")).isTrue();
    // The 'x' may be absent, so only "/users/" is certain.
    assertThat(PathMatch.regex("/users/x*").guaranteedPrefix()).isEqualTo("/users/");
    assertThat(PathMatch.regex("/usersx?").within("/users")).isFalse();
    assertThat(PathMatch.regex("^/users/.+").within("/users")).isTrue();
  }
}
