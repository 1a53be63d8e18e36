"""What the checker can and cannot tell: the trust bundle stored beside a model version.

A model artifact may carry three more files, listed with their sha256 in its manifest like every
other file (``manifest["trust"]`` names the first):

* ``trust.json``: format ``skinsite-trust/1``, thresholds, per-photo-type temperatures and
  abstention thresholds, and the figures measured when it was fitted (risk-coverage, pass rates);
* ``trust.npz``: the reference features of the training photos (the out-of-distribution gate's
  bank) and the photo-type head's weights;
* ``gate.onnx``: the ImageNet MobileNetV2 backbone (``../shared/weights``, not fine-tuned), giving
  pooled features of an intermediate block (13) and of the last block (18).

At serving time (``TrustBundle.judge``):

1. not skin: the gate's score is the mean of the two layers' standardised k-nearest-neighbour
   cosine distances to the bank; above ``gate.threshold`` the photo is out of scope;
2. photo type: a logistic head on the same features says clinical or dermoscopic;
3. calibration: the classifier's logits are divided by that type's temperature;
4. can't tell: a calibrated top-1 under the type's ``abstain_threshold`` is not an answer.

Fine-tuning collapses the features a gate needs, so the gate uses the untouched ImageNet
backbone: it works with any classifier, and ``fit_trust`` fits a bundle for any model version.
``fit.py`` (needs PyTorch) fits it; ``bundle.py`` (numpy and ONNX Runtime only) serves it.
"""
