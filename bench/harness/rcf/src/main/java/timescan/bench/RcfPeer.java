package timescan.bench;

import com.amazon.randomcutforest.RandomCutForest;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileReader;
import java.io.FileWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores window feature vectors with AWS Random Cut Forest, for the evaluation harness.
 *
 * <p>Usage: {@code java -jar rcf-peer.jar IN.csv OUT.txt [trees] [sampleSize] [seed]}
 *
 * <p>IN.csv holds one window a line, in time order: {@code phase,group,f1,...,fd}; phase
 * ({@code L} learning, {@code S} scoring) is informational: every window is scored, then
 * added to the forests (RCF's usual streaming use), so that learning windows get scores
 * too and a threshold can be calibrated on them. One forest per group plus one for the
 * whole fleet (which learns from a 1-in-G sample of the windows, G = the groups seen while
 * learning); a window is scored by its group's forest once that forest is ready, otherwise
 * by the fleet's. OUT.txt gets one anomaly score per input line. The time spent
 * in the forests alone (no file I/O, no JVM start) is printed to stdout as JSON:
 * {"model_seconds": wall, "model_cpu_seconds": cpu, "windows": n}.
 */
public final class RcfPeer {
  private RcfPeer() {}

  private static RandomCutForest newForest(int dims, int trees, int sampleSize, long seed) {
    return RandomCutForest.builder()
        .dimensions(dims)
        .numberOfTrees(trees)
        .sampleSize(sampleSize)
        .randomSeed(seed)
        .build();
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println("usage: rcf-peer IN.csv OUT.txt [trees=50] [sampleSize=256] [seed=42]");
      System.exit(2);
    }
    int trees = args.length > 2 ? Integer.parseInt(args[2]) : 50;
    int sampleSize = args.length > 3 ? Integer.parseInt(args[3]) : 256;
    long seed = args.length > 4 ? Long.parseLong(args[4]) : 42L;

    // Read everything first so that the timed part is the forests alone.
    List<String> groups = new ArrayList<>();
    List<float[]> points = new ArrayList<>();
    List<Boolean> learn = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new FileReader(args[0]))) {
      String line;
      int lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (line.isEmpty()) continue;
        String[] f = line.split(",");
        if (f.length < 3) {
          throw new IOException(args[0] + ":" + lineNo + ": expected phase,group,features...");
        }
        learn.add(f[0].equals("L"));
        groups.add(f[1]);
        float[] p = new float[f.length - 2];
        for (int i = 2; i < f.length; i++) p[i - 2] = Float.parseFloat(f[i]);
        points.add(p);
      }
    }
    int n = points.size();
    double[] scores = new double[n];
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long start = System.nanoTime();
    long cpuStart = threads.getCurrentThreadCpuTime();
    if (n > 0) {
      int dims = points.get(0).length;
      RandomCutForest fleet = newForest(dims, trees, sampleSize, seed);
      Map<String, RandomCutForest> byGroup = new HashMap<>();
      // The fleet forest is only the fallback for groups never seen while learning: it
      // learns from a 1-in-G sample of the stream (G groups), so that it costs about as
      // much as one group's forest rather than doubling the work.
      java.util.Set<String> learnGroups = new java.util.HashSet<>();
      for (int i = 0; i < n; i++) if (learn.get(i)) learnGroups.add(groups.get(i));
      int fleetEvery = Math.max(1, learnGroups.size());
      for (int i = 0; i < n; i++) {
        float[] p = points.get(i);
        RandomCutForest g = byGroup.get(groups.get(i));
        if (g == null) {
          g = newForest(dims, trees, sampleSize, seed + byGroup.size() + 1);
          byGroup.put(groups.get(i), g);
        }
        RandomCutForest scorer = g.isOutputReady() ? g : fleet;
        scores[i] = scorer.isOutputReady() ? scorer.getAnomalyScore(p) : 0.0;
        g.update(p);
        if (i % fleetEvery == 0) fleet.update(p);
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double cpuSeconds = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e9;
    try (BufferedWriter out = new BufferedWriter(new FileWriter(args[1]))) {
      for (int i = 0; i < n; i++) {
        out.write(Double.toString(scores[i]));
        out.write('\n');
      }
    }
    System.out.println("{\"model_seconds\": " + seconds + ", \"model_cpu_seconds\": " + cpuSeconds
        + ", \"windows\": " + n + "}");
  }
}
