"""Exit quizzes: a few multiple-choice questions per notebook, checked automatically.

Each question asks for reasoning, not recall of a printed formula: predict what a metric reads on a case the
notebook did not show, or which method fails where. A class (or a learner) runs::

    from ragteach.exercises.quiz import exit_quiz
    quiz = exit_quiz("01_gan_basics")
    quiz                      # the questions, numbered, with options a), b), c)
    quiz.check("bab")         # one letter per question: ✅/❌ each, the reason for every miss, the score

The answer key is in this module, like the back of a textbook.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One question: its text, the options (a, b, c, ...), the index of the right one and why it is right."""

    text: str
    options: tuple[str, ...]
    answer: int
    why: str

    def __post_init__(self) -> None:
        if not 2 <= len(self.options) <= 26:
            raise ValueError(f"a question needs 2 to 26 options, got {len(self.options)}: {self.text!r}")
        if not 0 <= self.answer < len(self.options):
            raise ValueError(f"answer index {self.answer} is not one of the {len(self.options)} options")


def _letter(i: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[i]


SHUFFLE = 3  # the seed of the options' order: one where no letter is the answer much more often than the others


def shown(q: Question) -> tuple[list[str], str]:
    """The options in the order a learner sees them, and the letter of the right one. The order is a fixed shuffle
    (seeded by the question's text), so that the key is not "b" every time however the options were written."""
    order = sorted(range(len(q.options)), key=lambda i: zlib.crc32(f"{SHUFFLE}|{q.text}|{i}".encode()))
    return [q.options[i] for i in order], _letter(order.index(q.answer))


@dataclass(frozen=True)
class Quiz:
    """A notebook's exit quiz: shows itself as Markdown in a notebook, ``check(answers)`` grades it."""

    notebook: str
    questions: tuple[Question, ...]

    def markdown(self) -> str:
        """The questions as a numbered Markdown list (no answers)."""
        lines = [f"**Exit quiz · {self.notebook}** — answer with one letter per question, "
                 f"e.g. `quiz.check(\"{'a' * len(self.questions)}\")`.", ""]
        for n, q in enumerate(self.questions, 1):
            lines.append(f"{n}. {q.text}")
            lines += [f"   - {_letter(i)}) {option}" for i, option in enumerate(shown(q)[0])]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __repr__(self) -> str:
        return self.markdown()

    def check(self, answers: str) -> int:
        """Grade ``answers`` (one letter per question, e.g. ``"abca"``; spaces and commas are ignored).

        Prints ✅ or ❌ for each question, the reason for each miss, and the score; returns the number right.
        """
        if not isinstance(answers, str):
            raise TypeError(f"answers must be a string of letters such as 'abca', got {type(answers).__name__}")
        letters = [c for c in answers.lower() if c not in " ,;"]
        if len(letters) != len(self.questions):
            raise ValueError(f"give one letter per question: {len(self.questions)} letters, got {len(letters)} "
                             f"({answers!r})")
        right = 0
        for n, (q, given) in enumerate(zip(self.questions, letters), 1):
            valid = [_letter(i) for i in range(len(q.options))]
            if given not in valid:
                raise ValueError(f"question {n}: {given!r} is not one of its options {valid}")
            if given == shown(q)[1]:
                right += 1
                print(f"{n}. ✅ {given})")
            else:
                print(f"{n}. ❌ {given}) — think again: {q.why}")
        print(f"Score: {right}/{len(self.questions)}")
        return right


QUIZZES: dict[str, tuple[Question, ...]] = {
    "01_gan_basics": (
        Question("A generator covers 3 of the 8 ring modes perfectly and puts nothing near the other 5. What does the "
                 "optimal discriminator D*(x) = p_data(x) / (p_data(x) + p_g(x)) output at the centre of a missed mode?",
                 ("0.5, because the game is at its equilibrium", "close to 1", "close to 0"), 1,
                 "at a missed mode p_g(x) ≈ 0 while p_data(x) > 0, so the ratio is close to 1: D knows the mode is real."),
        Question("Why does the generator minimise −log D(G(z)) instead of log(1 − D(G(z)))?",
                 ("it has a different, better equilibrium",
                  "same fixed point, but its gradient stays large while D confidently rejects G's samples",
                  "it makes D learn faster"), 1,
                 "both losses push D(G(z)) up; log(1 − D) is flat where D(G(z)) ≈ 0, which is where G starts."),
        Question("A GAN on digits makes samples the classifier calls one digit, with 99 % confidence, every time. "
                 "What is the right reading?",
                 ("excellent sample quality", "mode collapse: quality without coverage", "the classifier is broken"), 1,
                 "confidence measures quality only; one class out of ten is collapse, so report coverage beside it."),
        Question("A generator outputs exactly the 8 ring mode centres, equally often, with no spread at all. "
                 "What do 'modes captured' and 'high-quality %' (within 3σ of a mode) read?",
                 ("8 modes and 100 %: these metrics cannot see the missing spread",
                  "0 modes: a point is not a Gaussian", "4 modes and 50 %"), 0,
                 "every sample lies within 3σ of a centre and every centre gets its share: the metrics reward it."),
    ),
    "02_relative_augmentation": (
        Question("The distance term λ‖G(z) − x‖² with x drawn from the training set at random, independently of z: "
                 "as λ grows, what does every G(z) move towards?",
                 ("the mean training image", "a copy of one training image", "pure noise"), 0,
                 "the x minimising E‖g − x‖² over random x is the mean of x, the same for every z."),
        Question("The same term with x the training image nearest to G(z): what does it reward?",
                 ("the mean image", "copying training images", "nothing: it is zero on average"), 1,
                 "its minimisers are the training images themselves, so the term pulls each sample onto one."),
        Question("A memorisation score compares each sample's distance to its nearest training image. If the training "
                 "side is a random third of the training set, a generator that copies one image reads as:",
                 ("strong copying, always", "often not copying: the copied image is usually not in the third",
                  "more diverse"), 1,
                 "a copy is only detected when its original is among the images compared; score against them all."),
        Question("You augment (shift, cut out) only the real images that D sees, not the generated ones. What does G learn?",
                 ("nothing changes", "to generate augmented-looking images: the augmentation leaks",
                  "sharper images"), 1,
                 "D learns that real images look augmented, so G is rewarded for copying the augmentation."),
    ),
    "03_random_activations": (
        Question("Multiplying an MLP's hidden activations by a 0/1 mask that keeps each unit with probability p saves "
                 "what share of the layer's matrix-multiplication FLOPs?",
                 ("a share 1 − p", "none", "a share p"), 1,
                 "the product is computed for every unit and then multiplied by 0; only gathering fewer units saves work."),
        Question("The structured MLP computes only k = p·n units. If the MLP is two thirds of the model's FLOPs, what is "
                 "the best whole-model speed-up at p = 0.25?",
                 ("4x", "2x", "1.33x"), 1,
                 "Amdahl: 1 / (1/3 + 2/3 · 0.25) = 2; the third outside the MLP is untouched."),
        Question("p fixed at 0.5 or p ~ Beta(0.5, 0.5) (the same mean, 0.5): which gives the noisier training loss "
                 "from step to step?",
                 ("the fixed p", "the Beta draw: it is U-shaped, so many steps keep almost no or almost all units",
                  "they are the same, as the means are equal"), 1,
                 "equal means, different spread: Beta(0.5, 0.5) puts most of its mass near 0 and 1."),
        Question("One random mask per step, shared by the whole batch. Why is this not dropout?",
                 ("dropout draws a mask for every example (and position)", "dropout never rescales",
                  "it is exactly dropout"), 0,
                 "a shared mask removes the same units from everyone this step, a much coarser noise."),
    ),
    "04_retrieval_generation": (
        Question("With K = 1 retrieved document, how do RAG-Sequence and RAG-Token differ?",
                 ("RAG-Token is better", "they are the same model", "RAG-Sequence is better"), 1,
                 "with one document, Σ_i over documents has one term, and both marginals become p(y|x,d_1)."),
        Question("An answer's first token is supported only by document A and its second only by document B. Which "
                 "marginal can put high probability on the whole answer?",
                 ("RAG-Sequence", "RAG-Token", "neither"), 1,
                 "RAG-Token mixes the documents at each token; RAG-Sequence needs one document that supports every token."),
        Question("The question says 'seat of government', the document says 'capital'. Which retriever is likely to miss it?",
                 ("BM25, which matches words", "a dense encoder trained on paraphrased questions",
                  "both equally"), 0,
                 "BM25 scores shared terms only; a dense encoder can learn that the two phrases mean the same."),
        Question("You edit one document in the index and the answer changes, with no training. Why?",
                 ("the generator reads the retrieved text when it answers", "the index update retrains the weights",
                  "it cannot change"), 0,
                 "knowledge is in the index: the reader conditions on whatever text the retriever returns."),
    ),
    "05_generative_models_compared": (
        Question("A VAE trained with β = 0 (no KL term). Samples decoded from z ~ N(0, I) are likely to be:",
                 ("as good as with β = 1", "poor: nothing made the codes of real images look like N(0, I)",
                  "identical to each other"), 1,
                 "without the KL term the encoder is free to put codes anywhere; N(0, I) then lands between them."),
        Question("Why write z = μ + σ·ε with ε ~ N(0, I) instead of sampling z ~ N(μ, σ²) directly?",
                 ("it is faster", "the gradient reaches μ and σ through a deterministic path", "it lowers the KL"), 1,
                 "sampling is not differentiable in μ, σ; moving the noise into ε makes z a smooth function of them."),
        Question("The KL term of a VAE drops to about 0 for every input. What happened?",
                 ("the decoder ignores z (posterior collapse)", "the model is perfect", "the encoder overfits"), 0,
                 "KL ≈ 0 means q(z|x) equals the prior whatever x is: z carries no information about x."),
        Question("Which model can draw a new digit image: a classifier p(y|x) or a model of p(x)?",
                 ("the classifier", "the model of p(x)", "both"), 1,
                 "p(y|x) only scores images it is given; sampling needs a distribution over images."),
    ),
    "06_packing_and_mode_collapse": (
        Question("A packed D judges m samples at once. Why does that help it notice a generator that repeats itself?",
                 ("m samples of a collapsed G are less diverse than m real ones, a difference seen only jointly",
                  "it sees more data per step", "it trains m times faster"), 0,
                 "each sample alone may look real; a pack of near-copies does not."),
        Question("D's accuracy on fresh real and generated samples stays at 50 % ± 2 % all through training. "
                 "What does it tell you?",
                 ("D wins the game", "D cannot tell them apart: G is perfect or D gives G no useful signal",
                  "G has collapsed"), 1,
                 "chance accuracy means no signal either way; the samples decide which of the two it is."),
        Question("PacGAN4 makes 4x as many generated samples per step as the GAN. Which control separates packing "
                 "from that?",
                 ("train PacGAN4 for fewer steps", "train the plain GAN with a 4x batch", "no control is needed"), 1,
                 "the same number of generated samples per step, without packing, isolates the packing itself."),
    ),
}


def exit_quiz(notebook: str) -> Quiz:
    """The exit quiz of ``notebook`` (its file stem, e.g. ``"01_gan_basics"``)."""
    if notebook not in QUIZZES:
        raise KeyError(f"no exit quiz for {notebook!r}; known: {sorted(QUIZZES)}")
    return Quiz(notebook, QUIZZES[notebook])
