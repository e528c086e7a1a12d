package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.lorapro.nn.Finiteness;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.NormOps_DDRM;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Properties of the LoRA-Pro closed forms on random matrices, in double precision. */
class LoraProMathTest {

    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    /** A random LoRA pair with its full gradient and LoRA gradients. */
    private static final class Case {
        final int m;
        final int n;
        final int r;
        final double s;
        final NDArray g;
        final NDArray a;
        final NDArray b;
        final NDArray gradA;
        final NDArray gradB;

        Case(long seed) {
            Random rng = rngFor(seed);
            r = 1 + rng.nextInt(6);
            // from r (B or A square) to well above it, wide and tall alike
            m = r + rng.nextInt(14);
            n = r + rng.nextInt(14);
            s = 0.5 + 2 * rng.nextDouble();
            g = random(rng, m, n);
            a = random(rng, r, n);
            b = random(rng, m, r);
            NDList grads = loraGradients(g, a, b, s);
            gradA = grads.get(0);
            gradB = grads.get(1);
        }

        PairGeometry geometry() {
            return new PairGeometry(a, b, FactorGrams.of(a, b, LoraProMath.DEFAULT_DELTA), gradA, gradB, s);
        }

        /** s B gA* + s gB* A for given adjusted gradients, computed independently of the library. */
        NDArray equivalent(NDList adjusted) {
            return b.matMul(adjusted.get(0)).add(adjusted.get(1).matMul(a)).mul(s);
        }
    }

    /**
     * A generator for {@code seed}. {@code new Random(seed).nextInt(8)} is 5 for every seed from 1
     * to 60 (the first output of Java's generator barely depends on small seeds), so the seed is
     * mixed first.
     */
    static Random rngFor(long seed) {
        return new Random(new SplittableRandom(seed).nextLong());
    }

    @Test
    void casesCoverVariedShapes() {
        Set<Integer> ms = new HashSet<>();
        Set<Integer> ns = new HashSet<>();
        Set<Integer> rs = new HashSet<>();
        int tall = 0;
        int wide = 0;
        for (long seed = 1; seed <= 60; seed++) {
            Case c = new Case(seed);
            ms.add(c.m);
            ns.add(c.n);
            rs.add(c.r);
            tall += c.m > c.n ? 1 : 0;
            wide += c.m < c.n ? 1 : 0;
        }
        assertTrue(ms.size() >= 8 && ns.size() >= 8, "m took " + ms + ", n took " + ns);
        assertTrue(rs.size() >= 5, "r took " + rs);
        assertTrue(tall >= 10 && wide >= 10, tall + " tall and " + wide + " wide cases");
    }

    /** The LoRA gradients (gA, gB) = (s B^T g, s g A^T) that autograd gives for a full gradient g. */
    static NDList loraGradients(NDArray g, NDArray a, NDArray b, double s) {
        return new NDList(b.transpose().matMul(g).mul(s), g.matMul(a.transpose()).mul(s));
    }

    /**
     * The equivalent gradient g~ = s B gA* + s gB* A as the optimizer forms it: the product of
     * {@link PairGeometry#equivalentFactors}; it does not depend on X and equals P_B g + (I - P_B) g
     * P_A with the projections P_B = B (B^T B)^-1 B^T and P_A = A^T (A A^T)^-1 A.
     */
    static NDArray equivalentGradient(NDArray a, NDArray b, NDArray gradA, NDArray gradB, double s, double delta) {
        NDList factors = new PairGeometry(a, b, FactorGrams.of(a, b, delta), gradA, gradB, s).equivalentFactors(1);
        return factors.get(0).matMul(factors.get(1));
    }

    /** Adds {@code delta} to the diagonal of {@code matrix} in place and returns it. */
    static DMatrixRMaj addDiagonal(DMatrixRMaj matrix, double delta) {
        for (int i = 0; i < matrix.numRows; i++) {
            matrix.add(i, i, delta);
        }
        return matrix;
    }

    static NDArray random(Random rng, int rows, int cols) {
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian();
        }
        return manager.create(v, new Shape(rows, cols));
    }

    static DMatrixRMaj host(NDArray x) {
        return HostMatrices.toHost(x);
    }

    /**
     * P_B g + (I - P_B) g P_A, with the projections formed explicitly (m x m is fine here) from the
     * Grams with the same ridge delta I as the library's: when B or A is square, P is the identity
     * only up to delta / lambda_min, which for a random 5 x 5 factor can exceed 1e-7.
     */
    static DMatrixRMaj projectedGradient(Case c) {
        DMatrixRMaj g = host(c.g);
        DMatrixRMaj a = host(c.a);
        DMatrixRMaj b = host(c.b);
        DMatrixRMaj btb = new DMatrixRMaj(c.r, c.r);
        CommonOps_DDRM.multTransA(b, b, btb);
        addDiagonal(btb, LoraProMath.DEFAULT_DELTA);
        CommonOps_DDRM.invert(btb);
        DMatrixRMaj pB = HostMatrices.multTransB(HostMatrices.mult(b, btb), b);
        DMatrixRMaj aat = new DMatrixRMaj(c.r, c.r);
        CommonOps_DDRM.multTransB(a, a, aat);
        addDiagonal(aat, LoraProMath.DEFAULT_DELTA);
        CommonOps_DDRM.invert(aat);
        DMatrixRMaj pA = HostMatrices.mult(HostMatrices.multTransA(a, aat), a);
        DMatrixRMaj pBg = HostMatrices.mult(pB, g);
        DMatrixRMaj rest = g.copy();
        CommonOps_DDRM.subtractEquals(rest, pBg);
        DMatrixRMaj out = HostMatrices.mult(rest, pA);
        CommonOps_DDRM.addEquals(out, pBg);
        return out;
    }

    static double relativeError(DMatrixRMaj expected, DMatrixRMaj actual) {
        DMatrixRMaj d = actual.copy();
        CommonOps_DDRM.subtractEquals(d, expected);
        return NormOps_DDRM.normF(d) / NormOps_DDRM.normF(expected);
    }

    static double squaredDistance(NDArray x, NDArray y) {
        try (NDArray d = x.sub(y)) {
            return d.mul(d).sum().getDouble();
        }
    }

    /** ||gA*(X) - gA||^2 + ||gB*(X) - gB||^2. */
    static double distanceToLora(Case c, PairGeometry geometry, DMatrixRMaj x) {
        NDList adjusted = geometry.adjusted(x);
        double f = squaredDistance(adjusted.get(0), c.gradA) + squaredDistance(adjusted.get(1), c.gradB);
        adjusted.close();
        return f;
    }

    @Test
    void equivalentGradientIsIndependentOfXAndEqualsTheProjection() {
        for (long seed = 1; seed <= 10; seed++) {
            Case c = new Case(seed);
            DMatrixRMaj expected = projectedGradient(c);
            PairGeometry geometry = c.geometry();
            for (XMode mode : XMode.values()) {
                NDList adjusted = LoraProMath.adjustedGradients(
                        c.a, c.b, c.gradA, c.gradB, c.s, LoraProMath.DEFAULT_DELTA, mode);
                double err = relativeError(expected, host(c.equivalent(adjusted)));
                assertTrue(err < 1e-7, "seed " + seed + " mode " + mode + ": error " + err);
            }
            DMatrixRMaj randomX = host(random(rngFor(seed + 100), c.r, c.r).mul(10));
            double err = relativeError(expected, host(c.equivalent(geometry.adjusted(randomX))));
            assertTrue(err < 1e-7, "seed " + seed + " random X: error " + err);
            double direct = relativeError(expected, host(equivalentGradient(
                    c.a, c.b, c.gradA, c.gradB, c.s, LoraProMath.DEFAULT_DELTA)));
            assertTrue(direct < 1e-7, "seed " + seed + " equivalentGradient: error " + direct);
        }
    }

    @Test
    void sylvesterXMinimisesTheDistanceToTheLoraGradients() {
        for (long seed = 11; seed <= 20; seed++) {
            Case c = new Case(seed);
            PairGeometry geometry = c.geometry();
            DMatrixRMaj best = geometry.x(XMode.SYLVESTER);
            double fBest = distanceToLora(c, geometry, best);
            Random rng = rngFor(seed);
            for (int trial = 0; trial < 8; trial++) {
                DMatrixRMaj direction = host(random(rng, c.r, c.r));
                for (double step : new double[] {1e-3, 1e-1, 1}) {
                    DMatrixRMaj perturbed = best.copy();
                    CommonOps_DDRM.addEquals(perturbed, step, direction);
                    double f = distanceToLora(c, geometry, perturbed);
                    assertTrue(f > fBest, "seed " + seed + " step " + step + ": " + f + " <= " + fBest);
                }
            }
            assertTrue(fBest <= distanceToLora(c, geometry, geometry.x(XMode.SYMMETRY)) + 1e-12);
            assertTrue(fBest <= distanceToLora(c, geometry, geometry.x(XMode.ZERO)) + 1e-12);
        }
    }

    @Test
    void sylvesterXSolvesItsEquation() {
        Case c = new Case(21);
        PairGeometry geometry = c.geometry();
        DMatrixRMaj x = geometry.x(XMode.SYLVESTER);
        DMatrixRMaj btb = addDiagonal(host(c.b.transpose().matMul(c.b)), LoraProMath.DEFAULT_DELTA);
        DMatrixRMaj aat = addDiagonal(host(c.a.matMul(c.a.transpose())), LoraProMath.DEFAULT_DELTA);
        DMatrixRMaj lhs = HostMatrices.mult(btb, x);
        CommonOps_DDRM.addEquals(lhs, HostMatrices.mult(x, aat));
        DMatrixRMaj btbInv = btb.copy();
        CommonOps_DDRM.invert(btbInv);
        DMatrixRMaj rhs = HostMatrices.scale(
                -1 / (c.s * c.s), HostMatrices.mult(btbInv, host(c.gradA.matMul(c.a.transpose()))));
        assertTrue(relativeError(rhs, lhs) < 1e-10, "residual " + relativeError(rhs, lhs));
    }

    @Test
    void loraProEquivalentGradientIsCloserToTheFullGradientThanLora() {
        for (long seed = 31; seed <= 50; seed++) {
            Case c = new Case(seed);
            NDArray loraPro = equivalentGradient(c.a, c.b, c.gradA, c.gradB, c.s, LoraProMath.DEFAULT_DELTA);
            // plain LoRA moves W by s B gA + s gB A = s^2 (B B^T g + g A^T A)
            NDArray lora = c.b.matMul(c.gradA).add(c.gradB.matMul(c.a)).mul(c.s);
            double dPro = squaredDistance(loraPro, c.g);
            double dLora = squaredDistance(lora, c.g);
            assertTrue(dPro < dLora, "seed " + seed + ": LoRA-Pro " + dPro + " vs LoRA " + dLora);
        }
    }

    @Test
    void zeroBGivesFiniteAdjustedGradientsThatMoveB() {
        Random rng = new Random(7);
        NDArray a = random(rng, 3, 6);
        NDArray b = manager.zeros(new Shape(8, 3), DataType.FLOAT64);
        NDArray g = random(rng, 8, 6);
        NDList grads = loraGradients(g, a, b, 2.0);
        for (XMode mode : XMode.values()) {
            NDList adjusted = LoraProMath.adjustedGradients(a, b, grads.get(0), grads.get(1), 2.0, 1e-8, mode);
            for (NDArray x : adjusted) {
                assertTrue(Finiteness.isAllFinite(x), mode + " gave a non-finite gradient");
            }
            assertEquals(0.0, adjusted.get(0).abs().max().getDouble(), 0.0, "gA* must be 0 when B = 0");
            assertTrue(adjusted.get(1).abs().max().getDouble() > 0, "gB* must move B when B = 0");
        }
        NDArray equivalent = equivalentGradient(a, b, grads.get(0), grads.get(1), 2.0, 1e-8);
        assertTrue(Finiteness.isAllFinite(equivalent));
    }

    @Test
    void worksInFloat32OnTheArraysDevice() {
        Case c = new Case(60);
        NDArray a = c.a.toType(DataType.FLOAT32, false);
        NDArray b = c.b.toType(DataType.FLOAT32, false);
        NDArray gA = c.gradA.toType(DataType.FLOAT32, false);
        NDArray gB = c.gradB.toType(DataType.FLOAT32, false);
        NDList adjusted = LoraProMath.adjustedGradients(a, b, gA, gB, c.s, 1e-8, XMode.SYLVESTER);
        NDList reference = LoraProMath.adjustedGradients(c.a, c.b, c.gradA, c.gradB, c.s, 1e-8, XMode.SYLVESTER);
        for (int i = 0; i < 2; i++) {
            assertEquals(DataType.FLOAT32, adjusted.get(i).getDataType());
            assertEquals(a.getDevice(), adjusted.get(i).getDevice());
            double err = relativeError(host(reference.get(i)), host(adjusted.get(i)));
            assertTrue(err < 1e-4, "float32 error " + err);
        }
    }
}
