# Fashion-MNIST (real data), read by mmpretrain's FashionMNIST class.
# The IDX files come from Debian's dataset-fashion-mnist package
# (/usr/share/datasets/fashion-mnist/, installed by tools/setup_env.sh when
# apt is available); `python tools/prepare_fashion_mnist.py` checks their md5
# and decompresses them into data/fashion_mnist. Without apt, put the four
# *-ubyte.gz files from the Fashion-MNIST release into that folder and run
# the same command with --src FOLDER.
dataset_type = 'FashionMNIST'
data_root = 'data/fashion_mnist'
data_preprocessor = dict(num_classes=10, mean=[72.94], std=[90.02])

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        test_mode=False,
        download=False,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        # split and test_mode both: mmpretrain reads the file set by
        # test_mode but logs 'split="train" but test_mode=True. The training
        # set will be used.' when split is left at its default
        split='test',
        test_mode=True,
        download=False,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
