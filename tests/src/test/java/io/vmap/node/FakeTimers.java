package io.vmap.node;

import akka.actor.typed.javadsl.TimerScheduler;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link TimerScheduler} for collaborators tested without an actor system: it only records which
 * timers are armed, with what message and delay. A test "fires" one by taking its message and
 * handing it to the collaborator itself, so time never passes on its own.
 */
final class FakeTimers<T> implements TimerScheduler<T> {

  /** An armed timer. */
  record Timer<T>(T message, Duration delay, boolean periodic) {}

  private final Map<Object, Timer<T>> armed = new LinkedHashMap<>();

  /** The timer armed under {@code key}; fails the test if there is none. */
  Timer<T> armed(Object key) {
    Timer<T> t = armed.get(key);
    if (t == null) throw new AssertionError("no timer armed under " + key + "; armed: " + armed.keySet());
    return t;
  }

  /** Takes the single timer {@code key} off (as if it fired) and returns its message. */
  T fire(Object key) {
    Timer<T> t = armed(key);
    if (!t.periodic()) armed.remove(key);
    return t.message();
  }

  Map<Object, Timer<T>> all() {
    return Map.copyOf(armed);
  }

  @Override
  public void startTimerWithFixedDelay(Object key, T msg, Duration delay) {
    armed.put(key, new Timer<>(msg, delay, true));
  }

  @Override
  public void startTimerWithFixedDelay(Object key, T msg, Duration initialDelay, Duration delay) {
    armed.put(key, new Timer<>(msg, initialDelay, true));
  }

  @Override
  public void startTimerAtFixedRate(Object key, T msg, Duration interval) {
    armed.put(key, new Timer<>(msg, interval, true));
  }

  @Override
  public void startTimerAtFixedRate(Object key, T msg, Duration initialDelay, Duration interval) {
    armed.put(key, new Timer<>(msg, initialDelay, true));
  }

  @Override
  @Deprecated
  public void startPeriodicTimer(Object key, T msg, Duration interval) {
    armed.put(key, new Timer<>(msg, interval, true));
  }

  @Override
  public void startSingleTimer(Object key, T msg, Duration delay) {
    armed.put(key, new Timer<>(msg, delay, false));
  }

  @Override
  public boolean isTimerActive(Object key) {
    return armed.containsKey(key);
  }

  @Override
  public void cancel(Object key) {
    armed.remove(key);
  }

  @Override
  public void cancelAll() {
    armed.clear();
  }
}
