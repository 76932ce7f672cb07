# Fashion-MNIST with a validation split carved from the training set (the
# fair study, configs/suites/fair-study_fashion-mnist-holdout5k.py): 55,000
# training images to fit on, the other 5,000 (seeded, astro_mm.HoldOutSubset)
# to choose hyperparameters on, and the official 10,000 test images for the
# reported figures only. The training pipeline is the 5-epoch study's (no
# augmentation; configs/resnet/resnet20-cifar-s2_1xb128-4e_fashion-mnist.py
# says why).
# Uniquely named, so that a config can take it beside another base (mmengine
# refuses a key defined in two bases): assign them to train_dataloader,
# val_dataloader, val_evaluator, test_dataloader and test_evaluator. Each
# dataset replaces the base config's whole (_delete_), which a merge would
# otherwise fill with the plain FashionMNIST's keys.
_fashion_mnist = dict(
    type='FashionMNIST',
    data_root='data/fashion_mnist',
    download=False)
_whole_training_set = dict(
    _fashion_mnist, split='train', test_mode=False,
    pipeline=[dict(type='PackInputs')])
holdout_train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(
        _delete_=True,
        type='astro_mm.HoldOutSubset',
        dataset=_whole_training_set,
        part='fit',
        holdout=5000,
        seed=0),
    sampler=dict(type='DefaultSampler', shuffle=True))
holdout_val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    dataset=dict(
        _delete_=True,
        type='astro_mm.HoldOutSubset',
        dataset=_whole_training_set,
        part='holdout',
        holdout=5000,
        seed=0),
    sampler=dict(type='DefaultSampler', shuffle=False))
holdout_test_dataloader = dict(
    batch_size=256,
    num_workers=0,
    dataset=dict(
        _fashion_mnist, _delete_=True, split='test', test_mode=True,
        pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False))
holdout_val_evaluator = dict(type='Accuracy', topk=(1, ))
holdout_test_evaluator = holdout_val_evaluator
